-- An incident that failed at intake (its cluster was unknown) no longer takes in alerts forever.
-- 0006 let the same fingerprint join it with no time limit, so once the cluster was registered a
-- new firing of that alert was still parked on the failed incident and never investigated. Now it
-- joins only alerts that fail the same way, within the join window; and a firing parked there is
-- taken in afresh when Alertmanager notifies it again after its cluster became known.
-- The whole function is restated: migrations are append-only (0006 is recorded with its checksum).

CREATE OR REPLACE FUNCTION ingest_delivery(
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
    v_parked   boolean;
    v_known    boolean;
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

        -- This firing (fingerprint + startsAt) is known: only its resolution changes anything, unless it
        -- was parked on an incident that failed at intake and its cluster is known now (registered since):
        -- then it is taken in afresh, the way Alertmanager's next notification of it would expect.
        SELECT ia.incident_id, ia.status INTO v_incident, v_status
        FROM incident_alerts ia WHERE ia.fingerprint = a.fingerprint AND ia.starts_at = a.starts_at;
        v_known := FOUND;
        v_parked := false;
        IF v_known AND a.intake_error IS NULL AND a.status = 'firing' AND v_status = 'firing' THEN
            SELECT inc.intake_error IS NOT NULL INTO v_parked FROM incidents inc WHERE inc.id = v_incident;
        END IF;
        IF v_parked THEN
            DELETE FROM incident_alerts WHERE fingerprint = a.fingerprint AND starts_at = a.starts_at;
            INSERT INTO incident_events (incident_id, kind, actor, message, data)
            VALUES (v_incident, 'note', 'intake', format('alert %s moved: cluster %s is known now', v_what,
                                                         a.cluster), a.event_data);
            v_incident := NULL;
            v_known := false;
        END IF;
        IF v_known THEN
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
            -- An incident that failed at intake (unknown cluster) takes in alerts that fail the same way
            -- while its storm lasts (the window), so a storm makes one of them; never an alert whose
            -- cluster is known now, and never after the storm is over.
            -- (Two spellings, so the usual case, a known cluster, reads only open incidents and the
            -- join-key lookup uses the partial index incidents_open_by_key.)
            IF a.intake_error IS NULL THEN
                WITH seen AS MATERIALIZED (  -- fingerprint first: never a walk over all open incidents
                    SELECT ia.incident_id FROM incident_alerts ia WHERE ia.fingerprint = a.fingerprint)
                SELECT inc.id INTO v_incident FROM seen JOIN incidents inc ON inc.id = seen.incident_id
                WHERE inc.closed_at IS NULL
                ORDER BY inc.id DESC LIMIT 1;
                IF v_incident IS NULL THEN
                    SELECT inc.id INTO v_incident FROM incidents inc
                    WHERE inc.join_key = a.join_key AND inc.closed_at IS NULL
                      AND inc.last_alert_at >= now() - make_interval(secs => p_window_seconds)
                    ORDER BY inc.last_alert_at DESC LIMIT 1;
                END IF;
            ELSE
                WITH seen AS MATERIALIZED (
                    SELECT ia.incident_id FROM incident_alerts ia WHERE ia.fingerprint = a.fingerprint)
                SELECT inc.id INTO v_incident FROM seen JOIN incidents inc ON inc.id = seen.incident_id
                WHERE inc.closed_at IS NULL
                   OR (inc.intake_error IS NOT NULL
                       AND inc.last_alert_at >= now() - make_interval(secs => p_window_seconds))
                ORDER BY inc.id DESC LIMIT 1;
                IF v_incident IS NULL THEN
                    SELECT inc.id INTO v_incident FROM incidents inc
                    WHERE inc.join_key = a.join_key AND (inc.closed_at IS NULL OR inc.intake_error IS NOT NULL)
                      AND inc.last_alert_at >= now() - make_interval(secs => p_window_seconds)
                    ORDER BY inc.last_alert_at DESC LIMIT 1;
                END IF;
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
