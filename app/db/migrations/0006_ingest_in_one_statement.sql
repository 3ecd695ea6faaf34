-- Intake in one round trip (issue 5's throughput): a webhook delivery used to cost five to seven
-- statements (payload, locks, a lookup and an insert per alert, the work item, BEGIN, COMMIT), and
-- their client-side cost capped the webhook near 250 single-alert deliveries a second on two cores.
-- The join rules now run here, next to the rows they read; Python still decides everything that
-- needs no rows (cluster, workload, family, join key, priority, title) and passes it in.

-- Queue one work item and wake the workers when the transaction commits. The one definition of
-- enqueueing: IntakeQueue.enqueue and ingest_delivery both call it. 'opsgraph_work' is
-- app.incidents.queue.NOTIFY_CHANNEL, which the workers LISTEN on.
CREATE FUNCTION enqueue_work(p_incident_id bigint, p_kind text, p_cluster text, p_priority integer,
                             p_max_attempts integer, p_deadline_seconds double precision)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO work_items (incident_id, kind, cluster, priority, max_attempts, deadline)
    VALUES (p_incident_id, p_kind, p_cluster, p_priority, p_max_attempts,
            now() + make_interval(secs => p_deadline_seconds))
    ON CONFLICT (incident_id, kind) WHERE status IN ('queued', 'running') DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NOT NULL THEN
        PERFORM pg_notify('opsgraph_work', p_cluster);
    END IF;
    RETURN v_id;  -- null: a live item for this incident and kind already exists
END $$;

-- One alert as app.incidents.ingest prepares it.
CREATE TYPE intake_alert AS (
    fingerprint        text,
    starts_at          timestamptz,
    ends_at            timestamptz,
    status             text,
    source             text,
    alertname          text,
    labels             jsonb,
    annotations        jsonb,
    generator_url      text,
    cluster            text,
    namespace          text,
    resource_kind      text,
    resource_name      text,
    family             text,
    join_key           text,
    title              text,
    severity           text,
    priority           integer,   -- priority_for(severity, namespace) for a first occurrence
    priority_recurring integer,   -- ... and for a workload that keeps failing (recurrence threshold reached)
    intake_error       text,      -- why its cluster cannot be investigated (unknown), else null
    event_data         jsonb      -- what the timeline records about the alert
);

-- Apply one delivery: the raw payload, then each alert in order. A single statement is a single
-- transaction, so the webhook's 202 still means everything is committed.
--
-- Each statement in a VOLATILE plpgsql function takes a new snapshot (READ COMMITTED), so the
-- lookups below see every incident committed by a concurrent delivery that held a join-key lock
-- before us: the locks, taken in sorted order, serialise deliveries about the same workload
-- without deadlocks.
CREATE FUNCTION ingest_delivery(
    p_source text, p_digest text, p_group_key text, p_body jsonb, p_alerts jsonb, p_locks bigint[],
    p_window_seconds double precision, p_recurrence_seconds double precision, p_recurrence_threshold integer,
    p_max_attempts integer, p_deadline_seconds double precision,
    OUT payload_id bigint, OUT duplicate boolean, OUT incident_ids bigint[], OUT opened bigint[],
    OUT resolved_in bigint[], OUT new_alerts integer)
LANGUAGE plpgsql AS $$
DECLARE
    a          intake_alert;
    k          bigint;
    i          integer;
    v_incident bigint;
    v_status   text;
    v_recent   integer;
    v_priority integer;
    v_what     text;
BEGIN
    incident_ids := '{}'; opened := '{}'; resolved_in := '{}'; new_alerts := 0;

    INSERT INTO alert_payloads (source, digest, group_key, body) VALUES (p_source, p_digest, p_group_key, p_body)
    ON CONFLICT (digest) DO UPDATE SET deliveries = alert_payloads.deliveries + 1, last_received_at = now()
    RETURNING id, xmax <> 0 INTO payload_id, duplicate;

    FOREACH k IN ARRAY p_locks LOOP
        PERFORM pg_advisory_xact_lock(k);
    END LOOP;

    FOR i IN 0 .. jsonb_array_length(p_alerts) - 1 LOOP
        a := jsonb_populate_record(NULL::intake_alert, p_alerts -> i);
        v_what := format('%s (%s)', a.alertname, a.fingerprint);

        -- This firing (fingerprint + startsAt) is known: only its resolution changes anything.
        SELECT ia.incident_id, ia.status INTO v_incident, v_status
        FROM incident_alerts ia WHERE ia.fingerprint = a.fingerprint AND ia.starts_at = a.starts_at;
        IF FOUND THEN
            IF a.status = 'resolved' AND v_status <> 'resolved' THEN
                UPDATE incident_alerts SET status = 'resolved', ends_at = a.ends_at, last_seen = now()
                WHERE fingerprint = a.fingerprint AND starts_at = a.starts_at;
                IF v_incident IS NOT NULL THEN
                    INSERT INTO incident_events (incident_id, kind, actor, message, data)
                    VALUES (v_incident, 'alert_resolved', a.source, format('alert %s resolved', v_what), a.event_data);
                END IF;
            END IF;
        ELSE
            -- Join: the open incident of the same fingerprint, else of the same join key within the window.
            -- Incidents that failed at intake (unknown cluster) stay joinable so a storm makes one of them.
            SELECT inc.id INTO v_incident
            FROM incident_alerts ia JOIN incidents inc ON inc.id = ia.incident_id
            WHERE ia.fingerprint = a.fingerprint AND (inc.closed_at IS NULL OR inc.intake_error IS NOT NULL)
            ORDER BY inc.id DESC LIMIT 1;
            IF v_incident IS NULL THEN
                SELECT inc.id INTO v_incident FROM incidents inc
                WHERE inc.join_key = a.join_key AND (inc.closed_at IS NULL OR inc.intake_error IS NOT NULL)
                  AND inc.last_alert_at >= now() - make_interval(secs => p_window_seconds)
                ORDER BY inc.last_alert_at DESC LIMIT 1;
            END IF;
            SELECT count(*) INTO v_recent FROM incidents inc
            WHERE inc.cluster = a.cluster AND inc.namespace IS NOT DISTINCT FROM a.namespace
              AND inc.resource_kind IS NOT DISTINCT FROM a.resource_kind
              AND inc.resource_name IS NOT DISTINCT FROM a.resource_name
              AND inc.created_at >= now() - make_interval(secs => p_recurrence_seconds);
            v_priority := CASE WHEN v_recent + 1 >= p_recurrence_threshold THEN a.priority_recurring
                               ELSE a.priority END;

            IF v_incident IS NULL AND a.status = 'firing' THEN
                INSERT INTO incidents (cluster, namespace, resource_kind, resource_name, family, join_key, title,
                                       severity, priority, status, status_reason, intake_error, group_key, closed_at)
                VALUES (a.cluster, a.namespace, a.resource_kind, a.resource_name, a.family, a.join_key, a.title,
                        a.severity, v_priority, CASE WHEN a.intake_error IS NULL THEN 'open' ELSE 'failed' END,
                        a.intake_error, a.intake_error, p_group_key,
                        CASE WHEN a.intake_error IS NULL THEN NULL ELSE now() END)
                RETURNING id INTO v_incident;
                INSERT INTO incident_events (incident_id, kind, actor, message, data)
                VALUES (v_incident, 'opened', 'intake',
                        CASE WHEN a.intake_error IS NULL THEN format('opened as P%s from %s', v_priority, a.alertname)
                             ELSE format('opened and failed at once: %s', a.intake_error) END,
                        jsonb_build_object('priority', 'P' || v_priority, 'recent_incidents', v_recent,
                                           'family', a.family, 'join_key', a.join_key));
                IF a.intake_error IS NULL THEN
                    PERFORM enqueue_work(v_incident, 'diagnose', a.cluster, v_priority, p_max_attempts,
                                         p_deadline_seconds);
                END IF;
                opened := opened || v_incident;
            END IF;

            new_alerts := new_alerts + 1;
            INSERT INTO incident_alerts (fingerprint, starts_at, incident_id, payload_id, source, alertname, status,
                                         ends_at, labels, annotations, generator_url)
            VALUES (a.fingerprint, a.starts_at, v_incident, payload_id, a.source, a.alertname, a.status,
                    a.ends_at, a.labels, a.annotations, a.generator_url);
            IF v_incident IS NOT NULL THEN
                IF a.status = 'firing' THEN
                    UPDATE incidents SET last_alert_at = now(), updated_at = now(),
                                         priority = least(priority, v_priority)
                    WHERE id = v_incident;
                END IF;
                INSERT INTO incident_events (incident_id, kind, actor, message, data)
                VALUES (v_incident, 'alert', a.source, format('alert %s %s', v_what, a.status), a.event_data);
            END IF;
        END IF;

        IF v_incident IS NOT NULL THEN
            IF NOT v_incident = ANY (incident_ids) THEN
                incident_ids := incident_ids || v_incident;
            END IF;
            IF a.status = 'resolved' AND NOT v_incident = ANY (resolved_in) THEN
                resolved_in := resolved_in || v_incident;
            END IF;
        END IF;
    END LOOP;
END $$;
