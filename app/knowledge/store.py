"""KnowledgeBase: documents in, chunks with embeddings and full text, hybrid search out.

A search runs two rankings in one statement, cosine distance over the current embedder's vectors
(half precision, an exact scan of the narrow `kb_vectors` table) and full-text rank over the words, and fuses them by reciprocal rank (RRF: each list contributes
1 / (60 + rank)), so a chunk that both find beats one only one of them likes. Feedback (👍 +1 / 👎 -1 on a
chunk) scales the fused score by a bounded factor between 0.5 and 1.5.

Vectors travel through pgvector's psycopg adapter, registered once per pooled connection.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from pgvector import HalfVector
from pgvector.psycopg import register_vector_async
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field

from agents.knowledge.embeddings import Embedder
from agents.knowledge.markdown import Chunk
from agents.knowledge.search import KnowledgeHit, SearchFilters
from agents.safety.redaction import redact

RRF_K = 60  # the usual constant: ranks past a few dozen barely matter
CANDIDATES = 40  # how deep each ranking looks before fusion
FEEDBACK_WEIGHT = 0.5  # the score is multiplied by 1 + this * tanh(feedback / 3): within [0.5, 1.5]

SELECT_DOCUMENT = "SELECT id, content_hash, embedder FROM kb_documents WHERE source = %s AND doc_key = %s"
LOCK_DOCUMENT = SELECT_DOCUMENT + " FOR UPDATE"
SELECT_SAME_CONTENT = """
SELECT doc_key FROM kb_documents WHERE source = %s AND content_hash = %s AND doc_key <> %s LIMIT 1"""
INSERT_DOCUMENT = """
INSERT INTO kb_documents (source, doc_key, title, content_hash, embedder, skill, cluster, namespace, kind)
VALUES (%(source)s, %(doc_key)s, %(title)s, %(content_hash)s, %(embedder)s, %(skill)s, %(cluster)s, %(namespace)s,
        %(kind)s)
ON CONFLICT (source, doc_key) DO NOTHING
RETURNING id"""
UPDATE_DOCUMENT = """
UPDATE kb_documents SET title = %(title)s, content_hash = %(content_hash)s, embedder = %(embedder)s,
       skill = %(skill)s, cluster = %(cluster)s, namespace = %(namespace)s, kind = %(kind)s, ingested_at = now()
WHERE id = %(id)s"""
DELETE_CHUNKS = "DELETE FROM kb_chunks WHERE document_id = %s"
INSERT_CHUNK = """
WITH chunk AS (
    INSERT INTO kb_chunks (document_id, position, source, heading, content, skill, cluster, namespace, kind)
    VALUES (%(document_id)s, %(position)s, %(source)s, %(heading)s, %(content)s, %(skill)s, %(cluster)s,
            %(namespace)s, %(kind)s)
    RETURNING id
)
INSERT INTO kb_vectors (chunk_id, embedder, source, skill, cluster, namespace, kind, embedding)
SELECT id, %(embedder)s, %(source)s, %(skill)s, %(cluster)s, %(namespace)s, %(kind)s, %(embedding)s FROM chunk"""
# Filters: a chunk without cluster/namespace/kind (a runbook) is general knowledge and matches any value.
FILTERS = """
    (%(cluster)s::text IS NULL OR c.cluster IS NULL OR c.cluster = %(cluster)s)
AND (%(namespace)s::text IS NULL OR c.namespace IS NULL OR c.namespace = %(namespace)s)
AND (%(kind)s::text IS NULL OR c.kind IS NULL OR lower(c.kind) = lower(%(kind)s))
AND (%(source)s::text IS NULL OR c.source = %(source)s)
AND (%(skill)s::text IS NULL OR c.skill = %(skill)s)"""
# The words of the question OR-ed (a question rarely has every word of its answer), as the lexemes
# the english configuration made, so stemming happens once; chunks holding every word rank first (an
# error message pasted whole).
HYBRID_SEARCH = f"""
WITH q AS (
    SELECT %(embedding)s::halfvec AS v,
           coalesce((SELECT to_tsquery('simple', string_agg(quote_literal(lexeme), ' | '))
                     FROM unnest(tsvector_to_array(to_tsvector('english', %(text)s))) AS lexeme),
                    ''::tsquery) AS t,
           plainto_tsquery('english', %(text)s) AS every_word
), by_meaning AS (
    SELECT id, row_number() OVER (ORDER BY distance, id) AS rank FROM (
        SELECT c.chunk_id AS id, c.embedding <=> q.v AS distance
        FROM kb_vectors c, q
        WHERE c.embedder = %(embedder)s AND {FILTERS}
        ORDER BY distance, c.chunk_id LIMIT %(candidates)s) nearest
), by_words AS (
    SELECT id, row_number() OVER (ORDER BY every_word DESC, words DESC, id) AS rank FROM (
        SELECT c.id, c.tsv @@ q.every_word AS every_word, ts_rank(c.tsv, q.t, 1) AS words
        FROM kb_chunks c, q
        WHERE c.tsv @@ q.t AND {FILTERS}
        ORDER BY every_word DESC, words DESC, c.id LIMIT %(candidates)s) matching
), fused AS (
    SELECT id, sum(1.0 / (%(rrf_k)s + rank)) AS rrf
    FROM (SELECT * FROM by_meaning UNION ALL SELECT * FROM by_words) ranked GROUP BY id
)
SELECT c.id, c.source, d.title, d.doc_key, c.heading, c.content, c.skill,
       f.rrf * (1 + %(feedback_weight)s * tanh(c.feedback / 3.0)) AS score
FROM fused f JOIN kb_chunks c ON c.id = f.id JOIN kb_documents d ON d.id = c.document_id
ORDER BY score DESC, c.id
LIMIT %(limit)s"""
ADD_FEEDBACK = "INSERT INTO kb_feedback (chunk_id, helpful, actor, incident_id) VALUES (%s, %s, %s, %s)"
BUMP_FEEDBACK = "UPDATE kb_chunks SET feedback = feedback + %s WHERE id = %s RETURNING feedback"
COUNT = "SELECT count(*) AS chunks, count(DISTINCT document_id) AS documents FROM kb_chunks"


class KnowledgeDocument(BaseModel):
    """One document to store: its chunks and the metadata every chunk inherits."""

    source: Literal["runbook", "incident", "human_help"]
    doc_key: str = Field(min_length=1, max_length=1000)
    title: str
    chunks: list[Chunk]
    skill: str | None = None
    cluster: str | None = None
    namespace: str | None = None
    kind: str | None = None

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for part in (self.title, self.skill, self.cluster, self.namespace, self.kind):
            digest.update(f"{part or ''}\x1f".encode())
        for chunk in self.chunks:
            digest.update(f"{chunk.heading}\x1f{chunk.content}\x1e".encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class Stored:
    """What storing one document did: `added`, `replaced`, `unchanged` or `duplicate` (same content under
    another key, which is named in `message`)."""

    outcome: Literal["added", "replaced", "unchanged", "duplicate"]
    doc_key: str
    chunks: int
    message: str


class KnowledgeBase:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]], embedder: Embedder, *,
                 acquire_timeout: float | None = None) -> None:
        self.pool, self.embedder, self.acquire_timeout = pool, embedder, acquire_timeout
        self._registered: weakref.WeakSet[AsyncConnection[Any]] = weakref.WeakSet()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[dict[str, Any]]]:
        """A pooled connection that speaks pgvector's types (registered once per connection)."""
        async with self.pool.connection(timeout=self.acquire_timeout) as conn:
            if conn not in self._registered:
                await register_vector_async(conn)
                self._registered.add(conn)
            yield conn

    async def store(self, document: KnowledgeDocument) -> Stored:
        """Store a document atomically: all its chunks or none. The same content again is a no-op."""
        document = _redacted(document)
        content_hash = document.content_hash()
        async with self.connection() as conn:
            existing = await (await conn.execute(SELECT_DOCUMENT, (document.source, document.doc_key))).fetchone()
            if existing and existing["content_hash"] == content_hash and existing["embedder"] == self.embedder.name:
                return Stored("unchanged", document.doc_key, 0, f"{document.doc_key}: unchanged (same content "
                                                                 "already ingested)")
            twin = await (await conn.execute(SELECT_SAME_CONTENT, (document.source, content_hash,
                                                                   document.doc_key))).fetchone()
            if twin is not None:
                return Stored("duplicate", document.doc_key, 0, f"{document.doc_key}: skipped, the same content is "
                                                                 f"already ingested as {twin['doc_key']}")
        # Embedding happens outside the transaction: an endpoint can be slow, and a failure stores nothing.
        vectors = await self.embedder.embed(embedding_texts(document.chunks))
        fields = {**document.model_dump(exclude={"chunks"}), "content_hash": content_hash,
                  "embedder": self.embedder.name}
        async with self.connection() as conn, conn.transaction():
            row = await (await conn.execute(LOCK_DOCUMENT, (document.source, document.doc_key))).fetchone()
            inserted = None
            if row is None:
                inserted = await (await conn.execute(INSERT_DOCUMENT, fields)).fetchone()
                if inserted is None:  # another replica stored it meanwhile (both ingest the starter pack)
                    row = await (await conn.execute(LOCK_DOCUMENT, (document.source, document.doc_key))).fetchone()
            outcome: Literal["added", "replaced"] = "added"
            if inserted is not None:
                doc_id = inserted["id"]
            elif row is not None and row["content_hash"] == content_hash and row["embedder"] == self.embedder.name:
                return Stored("unchanged", document.doc_key, 0, f"{document.doc_key}: unchanged (same content "
                                                                 "already ingested)")
            else:
                assert row is not None
                doc_id = row["id"]
                await conn.execute(UPDATE_DOCUMENT, {**fields, "id": doc_id})
                await conn.execute(DELETE_CHUNKS, (doc_id,))
                outcome = "replaced"
            async with conn.cursor() as cur:
                await cur.executemany(INSERT_CHUNK, [
                    {"document_id": doc_id, "position": i, "heading": c.heading, "content": c.content,
                     "embedding": HalfVector(vector), "embedder": self.embedder.name, "source": document.source,
                     "skill": document.skill, "cluster": document.cluster, "namespace": document.namespace,
                     "kind": document.kind}
                    for i, (c, vector) in enumerate(zip(document.chunks, vectors, strict=True))])
        return Stored(outcome, document.doc_key, len(document.chunks),
                      f"{document.doc_key}: {outcome}, {len(document.chunks)} chunks")

    async def search(self, query: str, *, filters: SearchFilters | None = None, limit: int = 5,
                     mode: Literal["hybrid", "meaning", "words"] = "hybrid") -> list[KnowledgeHit]:
        """The best `limit` chunks for `query` among those the filters allow, best first. `mode` leaves one
        ranking out (to measure what each contributes; the tool always uses both)."""
        filters = filters or SearchFilters()
        (vector,) = await self.embedder.embed([query])
        params = {"embedding": HalfVector(vector), "text": query if mode != "meaning" else "",
                  "embedder": self.embedder.name if mode != "words" else "", "candidates": CANDIDATES,
                  "rrf_k": RRF_K, "feedback_weight": FEEDBACK_WEIGHT, "limit": limit, **filters.model_dump()}
        async with self.connection() as conn:
            rows = await (await conn.execute(HYBRID_SEARCH, params)).fetchall()
        return [KnowledgeHit(chunk_id=r["id"], source=r["source"], title=r["title"], heading=r["heading"],
                             content=r["content"], score=float(r["score"]), skill=r["skill"], doc_key=r["doc_key"])
                for r in rows]

    async def feedback(self, chunk_id: int, *, helpful: bool, actor: str, incident_id: int | None = None) -> int:
        """Record a 👍 or 👎 on a chunk; returns its new feedback sum. Unknown chunk: LookupError."""
        async with self.connection() as conn, conn.transaction():
            row = await (await conn.execute(BUMP_FEEDBACK, (1 if helpful else -1, chunk_id))).fetchone()
            if row is None:
                raise LookupError(f"no knowledge chunk {chunk_id}")
            await conn.execute(ADD_FEEDBACK, (chunk_id, helpful, actor, incident_id))
        return int(row["feedback"])

    async def remember_human_answer(self, *, incident_id: int, question: str, answer: str, answered_by: str,
                                    cluster: str | None = None, namespace: str | None = None,
                                    kind: str | None = None, skill: str | None = None) -> Stored:
        """The HumanHelp hook: a person's answer to an escalated question becomes searchable knowledge.
        Secrets in it are redacted before anything is stored."""
        if not answer.strip():
            raise ValueError("an empty answer is not knowledge")
        key = hashlib.sha256(f"{question}\x1f{answer}".encode()).hexdigest()[:12]
        document = KnowledgeDocument(
            source="human_help", doc_key=f"human_help:{incident_id}:{key}",
            title=f"incident {incident_id}: answer from {answered_by}", skill=skill, cluster=cluster,
            namespace=namespace, kind=kind,
            chunks=[Chunk(heading=f"Question: {question.strip()[:300]}", content=answer.strip())])
        return await self.store(document)

    async def counts(self) -> dict[str, int]:
        async with self.connection() as conn:
            row = await (await conn.execute(COUNT)).fetchone()
        return {"chunks": int(row["chunks"]), "documents": int(row["documents"])} if row else {}


def _redacted(document: KnowledgeDocument) -> KnowledgeDocument:
    """Secrets never enter the knowledge base, whoever wrote the text."""
    return document.model_copy(update={"title": redact(document.title), "chunks": [
        Chunk(redact(c.heading), redact(c.content)) for c in document.chunks]})


def embedding_texts(chunks: Sequence[Chunk]) -> list[str]:
    """What is embedded for each chunk: its heading path with its text, so a section knows its subject."""
    return [f"{c.heading}\n{c.content}" for c in chunks]
