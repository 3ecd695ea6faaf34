-- Knowledge base and incident memory (issue 13).
--
-- kb_documents: one row per ingested document (a runbook file, a resolved incident, a human answer),
-- keyed by (source, doc_key); content_hash makes a re-ingest of the same text a no-op.
-- kb_chunks: the searchable pieces, each with a generated tsvector and (in kb_vectors) an embedding (pgvector
-- halfvec), searched together and fused by reciprocal rank. The embedding column has no fixed dimension
-- because the embedder is configurable (the shipped static model, or an OpenAI-compatible endpoint);
-- `embedder` names the one that made it and searches only compare vectors of the current embedder.
-- incident_memory: what a resolved (or reopened) incident taught us, keyed by alert fingerprint and
-- workload, so a diagnosis can say "seen before: N times, last fix PR X, held / did not hold".

CREATE TABLE kb_documents (
    id           bigserial PRIMARY KEY,
    source       text NOT NULL CHECK (source IN ('runbook', 'incident', 'human_help')),
    doc_key      text NOT NULL,
    title        text NOT NULL,
    content_hash text NOT NULL,
    embedder     text NOT NULL,
    skill        text,
    cluster      text,
    namespace    text,
    kind         text,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, doc_key)
);

CREATE TABLE kb_chunks (
    id          bigserial PRIMARY KEY,
    document_id bigint NOT NULL REFERENCES kb_documents (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    source      text NOT NULL,
    heading     text NOT NULL,
    content     text NOT NULL,
    skill       text,
    cluster     text,
    namespace   text,
    kind        text,
    -- Headings weigh more than body text: a question usually names the fault the heading names.
    tsv         tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('english', heading), 'A') || to_tsvector('english', content)) STORED,
    -- Sum of 👍 (+1) and 👎 (-1) on this chunk; the ranking adds a bounded bonus or penalty from it.
    feedback    integer NOT NULL DEFAULT 0,
    UNIQUE (document_id, position)
);
CREATE INDEX kb_chunks_tsv ON kb_chunks USING gin (tsv);

-- The vectors in a narrow table of their own, with copies of the (immutable) filter columns: the ranking by
-- meaning is an exact scan, and a scan of these rows reads a third of the pages the chunks take. Half
-- precision, kept inside the row (no TOAST lookup per vector). Exact rather than an approximate index,
-- because filtered searches over one lose recall, and at 10k chunks the scan takes a few milliseconds.
CREATE TABLE kb_vectors (
    chunk_id  bigint PRIMARY KEY REFERENCES kb_chunks (id) ON DELETE CASCADE,
    embedder  text NOT NULL,
    source    text NOT NULL,
    skill     text,
    cluster   text,
    namespace text,
    kind      text,
    embedding halfvec NOT NULL
);
ALTER TABLE kb_vectors ALTER COLUMN embedding SET STORAGE MAIN;

CREATE TABLE kb_feedback (
    id         bigserial PRIMARY KEY,
    chunk_id   bigint NOT NULL REFERENCES kb_chunks (id) ON DELETE CASCADE,
    helpful    boolean NOT NULL,
    actor      text NOT NULL,
    incident_id bigint,
    at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE incident_memory (
    incident_id   bigint PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    cluster       text NOT NULL,
    namespace     text,
    workload_kind text,
    workload_name text,
    fingerprints  text[] NOT NULL DEFAULT '{}',
    alertnames    text[] NOT NULL DEFAULT '{}',
    category      text,
    root_cause    text,
    evidence      jsonb NOT NULL DEFAULT '[]',
    fixes         jsonb NOT NULL DEFAULT '[]',
    pr_number     integer,
    pr_url        text,
    -- true: verified healthy after the merge; false: still failing (reopened); null: ended without a verified fix.
    held          boolean,
    outcome       text NOT NULL,
    ended_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_memory_workload ON incident_memory (cluster, namespace, workload_kind, workload_name);
CREATE INDEX incident_memory_fingerprints ON incident_memory USING gin (fingerprints);
