-- Incident intake (issue 5): raw payloads, alerts, incidents, their timeline, the durable work queue.

-- Every accepted webhook body, once per distinct content; redeliveries only bump the counter.
CREATE TABLE alert_payloads (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source           text NOT NULL,                 -- alertmanager | k8s_event
    digest           text NOT NULL UNIQUE,          -- sha256 of the canonical JSON
    group_key        text,
    body             jsonb NOT NULL,
    deliveries       integer NOT NULL DEFAULT 1,
    received_at      timestamptz NOT NULL DEFAULT now(),
    last_received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE incidents (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cluster       text NOT NULL,
    namespace     text,
    resource_kind text,
    resource_name text,
    family        text NOT NULL,
    join_key      text NOT NULL,                    -- cluster/namespace/kind/name/family
    title         text NOT NULL,
    severity      text,
    priority      smallint NOT NULL CHECK (priority BETWEEN 0 AND 3),
    status        text NOT NULL DEFAULT 'open' CHECK (status IN (
        'open', 'diagnosing', 'awaiting_approval', 'awaiting_human', 'remediating',
        'resolved', 'failed', 'cancelled')),
    status_reason text,
    -- Why intake could not queue it (unknown cluster): such an incident fails at once but still
    -- absorbs later alerts for the same workload, so a storm makes one failed incident, not fifty.
    intake_error  text,
    group_key     text,
    diagnosis     jsonb,
    plan          jsonb,
    pr            jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_alert_at timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz                       -- set with a terminal status
);
-- The join lookup: open incidents by key, newest first.
CREATE INDEX incidents_open_by_key ON incidents (join_key, last_alert_at DESC) WHERE closed_at IS NULL;
-- Recurrence: incidents of one workload in the last 24 h.
CREATE INDEX incidents_by_resource ON incidents (cluster, namespace, resource_kind, resource_name, created_at);
CREATE INDEX incidents_listing ON incidents (status, id DESC);

-- One row per alert instance: Alertmanager identifies it by fingerprint + startsAt.
CREATE TABLE incident_alerts (
    fingerprint   text NOT NULL,
    starts_at     timestamptz NOT NULL,
    incident_id   bigint REFERENCES incidents (id) ON DELETE CASCADE,  -- null: resolved, never opened one
    payload_id    bigint REFERENCES alert_payloads (id) ON DELETE SET NULL,
    source        text NOT NULL,
    alertname     text NOT NULL,
    status        text NOT NULL CHECK (status IN ('firing', 'resolved')),
    ends_at       timestamptz,
    labels        jsonb NOT NULL,
    annotations   jsonb NOT NULL,
    generator_url text,
    first_seen    timestamptz NOT NULL DEFAULT now(),
    last_seen     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (fingerprint, starts_at)
);
CREATE INDEX incident_alerts_by_incident ON incident_alerts (incident_id);
CREATE INDEX incident_alerts_by_fingerprint ON incident_alerts (fingerprint);

-- The timeline: every step anyone (intake, worker, graph, human) takes on an incident.
CREATE TABLE incident_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind        text NOT NULL,
    actor       text NOT NULL,
    message     text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX incident_events_by_incident ON incident_events (incident_id, id);

-- The durable intake queue, claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE work_items (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id      bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind             text NOT NULL DEFAULT 'diagnose',
    cluster          text NOT NULL,
    priority         smallint NOT NULL,
    status           text NOT NULL DEFAULT 'queued' CHECK (status IN (
        'queued', 'running', 'done', 'failed', 'cancelled')),
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL,
    not_before       timestamptz NOT NULL DEFAULT now(),
    deadline         timestamptz NOT NULL,
    lease_owner      text,
    lease_expires_at timestamptz,
    heartbeat_at     timestamptz,
    last_message     text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- At most one live item per incident and kind: a redelivered alert never queues a second run.
CREATE UNIQUE INDEX work_items_one_live ON work_items (incident_id, kind) WHERE status IN ('queued', 'running');
CREATE INDEX work_items_claimable ON work_items (priority, created_at) WHERE status IN ('queued', 'running');

-- Each attempt and how it ended: done, retry (with when), failed, lost (lease expired).
CREATE TABLE work_attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id     bigint NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
    attempt     integer NOT NULL,
    worker      text NOT NULL,
    resume      boolean NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome     text CHECK (outcome IN ('done', 'retry', 'failed', 'lost', 'cancelled')),
    retry_at    timestamptz,
    message     text,
    UNIQUE (item_id, attempt)
);
