-- The chat API (issue 12): threads, runs and the events a run streams, in the LangGraph server's shape.
-- An incident is a thread too (thread id = incident id); it needs no row here.

CREATE TABLE chat_threads (
    thread_id  text PRIMARY KEY,
    cluster    text NOT NULL,                       -- the cluster its tools talk to
    metadata   jsonb NOT NULL DEFAULT '{}'::jsonb,
    status     text NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'busy', 'interrupted', 'error')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chat_runs (
    run_id     uuid PRIMARY KEY,
    thread_id  text NOT NULL REFERENCES chat_threads (thread_id) ON DELETE CASCADE,
    status     text NOT NULL DEFAULT 'pending' CHECK (status IN (
        'pending', 'running', 'success', 'error', 'interrupted')),
    request    jsonb NOT NULL,                      -- input or command, stream modes, metadata
    error      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_runs_by_thread ON chat_runs (thread_id, created_at);
-- One live run per thread: a second turn while one runs is refused, never interleaved.
CREATE UNIQUE INDEX chat_runs_one_live ON chat_runs (thread_id) WHERE status IN ('pending', 'running');

-- Everything a run streamed, in order; a stream (or a join after a disconnect) replays it from here.
CREATE TABLE chat_run_events (
    run_id uuid NOT NULL REFERENCES chat_runs (run_id) ON DELETE CASCADE,
    seq    integer NOT NULL,
    event  text NOT NULL,                           -- metadata, values, updates, messages, custom, error, end
    ns     text NOT NULL DEFAULT '',                -- subgraph namespace, '' for the root graph
    data   jsonb,
    at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (run_id, seq)
);

-- A run is a work item on the durable queue, like an incident's diagnosis: exactly one subject.
ALTER TABLE work_items ALTER COLUMN incident_id DROP NOT NULL;
ALTER TABLE work_items ADD COLUMN run_id uuid REFERENCES chat_runs (run_id) ON DELETE CASCADE;
ALTER TABLE work_items ADD CONSTRAINT work_items_one_subject CHECK (num_nonnulls(incident_id, run_id) = 1);
CREATE UNIQUE INDEX work_items_one_live_run ON work_items (run_id) WHERE status IN ('queued', 'running');

-- When the queue gives a run up (attempts or deadline spent, lease lost, cancelled), the run says so
-- and its followers are told; a run that ends normally is settled by its runner before the item.
CREATE FUNCTION settle_chat_run() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_status text := CASE NEW.status WHEN 'cancelled' THEN 'interrupted' ELSE 'error' END;
    v_message text := coalesce(NEW.last_message, 'the run was ' || NEW.status);
    v_seq integer;
BEGIN
    UPDATE chat_runs SET status = v_status, error = v_message, updated_at = now()
    WHERE run_id = NEW.run_id AND status IN ('pending', 'running');
    IF FOUND THEN
        UPDATE chat_threads SET status = CASE v_status WHEN 'error' THEN 'error' ELSE 'idle' END, updated_at = now()
        WHERE thread_id = (SELECT thread_id FROM chat_runs WHERE run_id = NEW.run_id);
        SELECT coalesce(max(seq), 0) INTO v_seq FROM chat_run_events WHERE run_id = NEW.run_id;
        INSERT INTO chat_run_events (run_id, seq, event, data)
        VALUES (NEW.run_id, v_seq + 1, 'error', jsonb_build_object('error', v_status, 'message', v_message)),
               (NEW.run_id, v_seq + 2, 'end', NULL);
        PERFORM pg_notify('opsgraph_run_events', NEW.run_id::text);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER work_items_settle_chat_run
AFTER UPDATE OF status ON work_items
FOR EACH ROW WHEN (NEW.run_id IS NOT NULL AND NEW.status IN ('failed', 'cancelled'))
EXECUTE FUNCTION settle_chat_run();
