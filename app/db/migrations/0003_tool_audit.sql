-- Tool-call audit log (issue 4): one row per tool call an agent made, refusals and failures included.
-- incident_id is text, not a foreign key: chat threads call tools too, and the audit outlives deletes.
-- args and message are redacted before they are written.
CREATE TABLE tool_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id text NOT NULL,
    cluster     text NOT NULL,
    agent       text NOT NULL,
    tool        text NOT NULL,
    call_id     text NOT NULL,
    args        jsonb NOT NULL,
    status      text NOT NULL CHECK (status IN ('ok', 'no_data', 'error', 'refused', 'approval_required')),
    message     text NOT NULL DEFAULT '',
    duration_ms double precision NOT NULL CHECK (duration_ms >= 0),
    bytes       integer NOT NULL CHECK (bytes >= 0),
    truncated   boolean NOT NULL DEFAULT false,
    at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tool_audit_incident ON tool_audit (incident_id, id);
CREATE INDEX tool_audit_tool_at ON tool_audit (tool, at);
