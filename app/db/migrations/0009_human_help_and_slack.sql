-- Issue 11: help requests a paused graph waits on, Slack's durable outbox and card locations, feedback.

-- One row per question the HumanHelp subgraph asked (request_id is deterministic per thread and round,
-- so a re-run node asks the same question). A reply is recorded once; the resume item carries it on.
CREATE TABLE help_requests (
    request_id   text PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    request      jsonb NOT NULL,
    asked_at     timestamptz NOT NULL DEFAULT now(),
    reminded_at  timestamptz,
    timed_out_at timestamptz,
    reply        jsonb,
    replied_by   text,
    replied_at   timestamptz
);
CREATE INDEX help_requests_open ON help_requests (asked_at) WHERE reply IS NULL;
CREATE INDEX help_requests_by_incident ON help_requests (incident_id, asked_at);

-- Slack calls to make, written in the same transaction as what they announce. A `card` row means
-- "render this incident's card from its current row and post or update it"; at most one waits per
-- incident, so a burst of transitions is one chat.update. `thread` rows carry a message for the card's thread.
CREATE TABLE slack_outbox (
    id          bigserial PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('card', 'thread')),
    payload     jsonb NOT NULL DEFAULT '{}',
    attempts    integer NOT NULL DEFAULT 0,
    version     integer NOT NULL DEFAULT 0,  -- bumped by every change queued onto a pending card
    not_before  timestamptz NOT NULL DEFAULT now(),
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE UNIQUE INDEX slack_outbox_one_pending_card ON slack_outbox (incident_id) WHERE kind = 'card' AND sent_at IS NULL;
CREATE INDEX slack_outbox_due ON slack_outbox (not_before, id) WHERE sent_at IS NULL;

-- Where each incident's one card lives, so later states update it instead of posting again.
CREATE TABLE slack_messages (
    incident_id bigint PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    channel     text NOT NULL,
    ts          text NOT NULL,
    posted_at   timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Whether cards are wanted at all: the service sets it at start-up from its Slack settings, so a
-- deployment without Slack queues nothing (and pays one primary-key read per incident change).
CREATE TABLE slack_switch (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    enabled boolean NOT NULL DEFAULT false
);
INSERT INTO slack_switch (id, enabled) VALUES (true, false);

-- Every change a person can see on the card queues a refresh of it, inside the changing transaction.
CREATE FUNCTION queue_slack_card() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT (SELECT enabled FROM slack_switch) THEN
        RETURN NULL;
    END IF;
    -- A card being sent right now is still pending: the bumped version makes the sender send it again.
    INSERT INTO slack_outbox (incident_id, kind) VALUES (NEW.id, 'card')
    ON CONFLICT (incident_id) WHERE kind = 'card' AND sent_at IS NULL
    DO UPDATE SET version = slack_outbox.version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER incidents_card_on_insert AFTER INSERT ON incidents FOR EACH ROW EXECUTE FUNCTION queue_slack_card();
CREATE TRIGGER incidents_card_on_change AFTER UPDATE OF status, status_reason, diagnosis, plan, pr ON incidents
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.status_reason IS DISTINCT FROM NEW.status_reason
                       OR OLD.diagnosis IS DISTINCT FROM NEW.diagnosis OR OLD.plan IS DISTINCT FROM NEW.plan
                       OR OLD.pr IS DISTINCT FROM NEW.pr)
    EXECUTE FUNCTION queue_slack_card();
-- A new alert for a parked incident (waiting for a person) is shown on its card.
CREATE TRIGGER incidents_card_on_parked_alert AFTER UPDATE OF last_alert_at ON incidents
    FOR EACH ROW WHEN (NEW.status IN ('awaiting_human', 'reopened') AND OLD.last_alert_at IS DISTINCT FROM NEW.last_alert_at)
    EXECUTE FUNCTION queue_slack_card();

-- 👍/👎 per incident and person (a second vote replaces the first).
CREATE TABLE incident_feedback (
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    user_id     text NOT NULL,
    vote        text NOT NULL CHECK (vote IN ('up', 'down')),
    comment     text,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, user_id)
);

-- A change may be asked about again after a person's reply sent the run round once more (the same
-- plan, a new question): one open (unapplied) decision per change, and every earlier one kept.
ALTER TABLE approvals DROP CONSTRAINT approvals_incident_id_diff_hash_key;
CREATE UNIQUE INDEX approvals_one_open_decision ON approvals (incident_id, diff_hash) WHERE applied_at IS NULL;
CREATE INDEX approvals_by_change ON approvals (incident_id, diff_hash, decided_at);
