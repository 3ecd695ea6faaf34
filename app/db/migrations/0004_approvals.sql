-- One decision per pending change: the unique key makes a second click (or a second replica)
-- find the first decision instead of resuming the graph twice.
CREATE TABLE approvals (
    id          bigserial PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    diff_hash   text NOT NULL,
    decision    text NOT NULL CHECK (decision IN ('approve', 'reject', 'edit')),
    approver    text NOT NULL,
    edits       jsonb NOT NULL DEFAULT '[]',
    reason      text,
    decided_at  timestamptz NOT NULL DEFAULT now(),
    applied_at  timestamptz,
    UNIQUE (incident_id, diff_hash)
);
