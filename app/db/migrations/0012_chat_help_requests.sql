-- Issue 11, item 4: a chat turn can ask a person too. A help request then belongs to the chat thread
-- (there is no incident), and its Slack card is its own message rather than an incident's card.

ALTER TABLE help_requests ALTER COLUMN incident_id DROP NOT NULL;
ALTER TABLE help_requests ADD COLUMN thread_id text REFERENCES chat_threads (thread_id) ON DELETE CASCADE;
ALTER TABLE help_requests ADD CONSTRAINT help_requests_one_subject CHECK (num_nonnulls(incident_id, thread_id) = 1);
CREATE INDEX help_requests_by_thread ON help_requests (thread_id, asked_at) WHERE thread_id IS NOT NULL;

-- A `help_card` row means "render this chat question's card from its current row and post or update it";
-- at most one waits per question, like an incident's `card` row.
ALTER TABLE slack_outbox ALTER COLUMN incident_id DROP NOT NULL;
ALTER TABLE slack_outbox ADD COLUMN help_request_id text REFERENCES help_requests (request_id) ON DELETE CASCADE;
ALTER TABLE slack_outbox DROP CONSTRAINT slack_outbox_kind_check;
ALTER TABLE slack_outbox ADD CONSTRAINT slack_outbox_kind_check CHECK (
    (kind IN ('card', 'thread') AND incident_id IS NOT NULL AND help_request_id IS NULL)
    OR (kind = 'help_card' AND help_request_id IS NOT NULL AND incident_id IS NULL));
CREATE UNIQUE INDEX slack_outbox_one_pending_help_card ON slack_outbox (help_request_id)
    WHERE kind = 'help_card' AND sent_at IS NULL;

-- Where each chat question's card lives, and which follow-ups (reminder, timeout, answer) its Slack
-- thread already got, so each is posted once.
CREATE TABLE slack_help_messages (
    request_id text PRIMARY KEY REFERENCES help_requests (request_id) ON DELETE CASCADE,
    channel    text NOT NULL,
    ts         text NOT NULL,
    notes      text[] NOT NULL DEFAULT '{}',
    posted_at  timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Asking, reminding, timing out and answering a chat question each queue a refresh of its card, inside
-- the changing transaction (the incident card's trigger, migration 0009, does the same for incidents).
CREATE FUNCTION queue_slack_help_card() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT (SELECT enabled FROM slack_switch) THEN
        RETURN NULL;
    END IF;
    INSERT INTO slack_outbox (help_request_id, kind) VALUES (NEW.request_id, 'help_card')
    ON CONFLICT (help_request_id) WHERE kind = 'help_card' AND sent_at IS NULL
    DO UPDATE SET version = slack_outbox.version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER help_requests_chat_card_on_insert AFTER INSERT ON help_requests
    FOR EACH ROW WHEN (NEW.thread_id IS NOT NULL) EXECUTE FUNCTION queue_slack_help_card();
CREATE TRIGGER help_requests_chat_card_on_change AFTER UPDATE OF reply, reminded_at, timed_out_at ON help_requests
    FOR EACH ROW WHEN (NEW.thread_id IS NOT NULL AND (OLD.reply IS DISTINCT FROM NEW.reply
                       OR OLD.reminded_at IS DISTINCT FROM NEW.reminded_at
                       OR OLD.timed_out_at IS DISTINCT FROM NEW.timed_out_at))
    EXECUTE FUNCTION queue_slack_help_card();

-- A new turn moves a chat thread on and closes its open question: its card is refreshed to say so (and
-- loses its Reply button).
CREATE FUNCTION queue_slack_cards_of_moved_on_thread() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT (SELECT enabled FROM slack_switch) THEN
        RETURN NULL;
    END IF;
    INSERT INTO slack_outbox (help_request_id, kind)
    SELECT h.request_id, 'help_card' FROM help_requests h
    WHERE h.thread_id = NEW.thread_id AND h.reply IS NULL AND h.asked_at < NEW.created_at
      AND NOT EXISTS (SELECT 1 FROM chat_runs r WHERE r.thread_id = h.thread_id AND r.run_id <> NEW.run_id
                      AND r.created_at > h.asked_at AND r.request ? 'input')
    ON CONFLICT (help_request_id) WHERE kind = 'help_card' AND sent_at IS NULL
    DO UPDATE SET version = slack_outbox.version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER chat_runs_close_open_questions AFTER INSERT ON chat_runs
    FOR EACH ROW WHEN (NEW.request ? 'input') EXECUTE FUNCTION queue_slack_cards_of_moved_on_thread();
