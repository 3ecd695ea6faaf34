"""One delivery in one transaction: raw payload, alerts, incidents, timeline and work items.

The webhook acknowledges only after this commits, so an acknowledged alert is never lost, and
every write is keyed so a redelivery changes nothing:
- the payload by the digest of its canonical JSON (a redelivery bumps `deliveries`);
- an alert by fingerprint + startsAt (Alertmanager's identity of one firing);
- an incident's work by the partial unique index "one live item per incident".

Concurrent deliveries about the same workload (two replicas, a storm split over requests) are
serialised by transaction-level advisory locks on the join keys, taken in sorted order in one
statement so two transactions can never wait on each other in a cycle.

Lock order with the workers: incident rows before work-item rows, everywhere.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from app.incidents.alerts import AlertBatch, IncomingAlert
from app.incidents.priority import RECURRENCE_WINDOW_SECONDS, label, priority_for
from app.incidents.queue import IntakeQueue

# The payload row and the join-key locks in one round trip. The locks are taken in the array's
# (sorted) order; the lookups that depend on them run in later statements, with later snapshots.
INSERT_PAYLOAD_AND_LOCK = """
WITH payload AS (
    INSERT INTO alert_payloads (source, digest, group_key, body) VALUES (%s, %s, %s, %s::jsonb)
    ON CONFLICT (digest) DO UPDATE SET deliveries = alert_payloads.deliveries + 1, last_received_at = now()
    RETURNING id, (xmax = 0) AS inserted
), locks AS (
    SELECT count(pg_advisory_xact_lock(k)) AS taken FROM unnest(%s::bigint[]) AS k
)
SELECT payload.id, payload.inserted, locks.taken FROM payload, locks"""
# One round trip answers every question the join rules ask about one alert.
LOOKUP = """
SELECT
  (SELECT incident_id FROM incident_alerts WHERE fingerprint = %(fp)s AND starts_at = %(starts_at)s) AS seen_incident,
  (SELECT status FROM incident_alerts WHERE fingerprint = %(fp)s AND starts_at = %(starts_at)s) AS seen_status,
  (SELECT i.id FROM incident_alerts a JOIN incidents i ON i.id = a.incident_id
    WHERE a.fingerprint = %(fp)s AND (i.closed_at IS NULL OR i.intake_error IS NOT NULL)
    ORDER BY i.id DESC LIMIT 1) AS by_fingerprint,
  (SELECT id FROM incidents
    WHERE join_key = %(key)s AND (closed_at IS NULL OR intake_error IS NOT NULL)
      AND last_alert_at >= now() - make_interval(secs => %(window)s)
    ORDER BY last_alert_at DESC LIMIT 1) AS by_key,
  (SELECT count(*) FROM incidents
    WHERE cluster = %(cluster)s AND namespace IS NOT DISTINCT FROM %(namespace)s
      AND resource_kind IS NOT DISTINCT FROM %(kind)s AND resource_name IS NOT DISTINCT FROM %(name)s
      AND created_at >= now() - make_interval(secs => %(recurrence)s)) AS recent"""
OPEN_INCIDENT = """
WITH opened AS (
    INSERT INTO incidents (cluster, namespace, resource_kind, resource_name, family, join_key, title, severity,
                           priority, status, status_reason, intake_error, group_key, closed_at)
    VALUES (%(cluster)s, %(namespace)s, %(kind)s, %(name)s, %(family)s, %(key)s, %(title)s, %(severity)s,
            %(priority)s, %(status)s, %(reason)s, %(reason)s, %(group_key)s,
            CASE WHEN %(reason)s::text IS NULL THEN NULL ELSE now() END)
    RETURNING id
), event AS (
    INSERT INTO incident_events (incident_id, kind, actor, message, data)
    SELECT id, 'opened', 'intake', %(message)s, %(data)s FROM opened
)
SELECT id FROM opened"""
INSERT_ALERT = """
WITH alert AS (
    INSERT INTO incident_alerts (fingerprint, starts_at, incident_id, payload_id, source, alertname, status, ends_at,
                                 labels, annotations, generator_url)
    VALUES (%(fp)s, %(starts_at)s, %(incident)s, %(payload)s, %(source)s, %(alertname)s, %(status)s, %(ends_at)s,
            %(labels)s, %(annotations)s, %(generator_url)s)
    RETURNING incident_id
), touched AS (
    UPDATE incidents SET last_alert_at = now(), updated_at = now(), priority = least(priority, %(priority)s)
    WHERE id = %(incident)s AND NOT %(resolved)s
)
INSERT INTO incident_events (incident_id, kind, actor, message, data)
SELECT incident_id, 'alert', %(source)s, %(message)s, %(data)s FROM alert WHERE incident_id IS NOT NULL"""
RESOLVE_ALERT = """
WITH alert AS (
    UPDATE incident_alerts SET status = 'resolved', ends_at = %(ends_at)s, last_seen = now()
    WHERE fingerprint = %(fp)s AND starts_at = %(starts_at)s RETURNING incident_id
)
INSERT INTO incident_events (incident_id, kind, actor, message, data)
SELECT incident_id, 'alert_resolved', %(source)s, %(message)s, %(data)s FROM alert WHERE incident_id IS NOT NULL"""
ALL_RESOLVED = """
SELECT i.status, (SELECT bool_and(a.status = 'resolved') FROM incident_alerts a WHERE a.incident_id = i.id)
       AS all_resolved
FROM incidents i WHERE i.id = %s AND i.closed_at IS NULL FOR UPDATE"""
CLOSE_RESOLVED = """
WITH closed AS (
    UPDATE incidents SET status = 'resolved', status_reason = %(message)s, closed_at = now(), updated_at = now()
    WHERE id = %(id)s AND closed_at IS NULL RETURNING id
)
INSERT INTO incident_events (incident_id, kind, actor, message) SELECT id, 'resolved', 'intake', %(message)s FROM closed"""
NOTE = "INSERT INTO incident_events (incident_id, kind, actor, message) VALUES (%s, %s, 'intake', %s)"


@dataclass
class IngestResult:
    incident_ids: list[int] = field(default_factory=list)  # every incident the delivery touched, in order
    opened: list[int] = field(default_factory=list)
    duplicate_payload: bool = False
    new_alerts: int = 0


def lock_id(key: str) -> int:
    """A stable signed 64-bit advisory lock id for a join key."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


async def ingest_batch(
    conn: AsyncConnection[dict[str, Any]],
    batch: AlertBatch,
    *,
    queue: IntakeQueue,
    window_seconds: float,
    cluster_error: Any,
) -> IngestResult:
    """Apply one delivery; the caller owns the transaction. `cluster_error(id)` says why a cluster is unknown."""
    result = IngestResult()
    keys = sorted({lock_id(a.join_key) for a in batch.alerts})
    row = await (await conn.execute(INSERT_PAYLOAD_AND_LOCK, (batch.source, batch.digest, batch.group_key,
                                                              batch.body, keys))).fetchone()
    assert row is not None
    payload_id, result.duplicate_payload = row["id"], not row["inserted"]
    resolved_in: list[int] = []
    for alert in batch.alerts:
        incident_id = await _apply(conn, alert, batch, payload_id, queue, window_seconds, cluster_error, result)
        if incident_id is not None:
            if incident_id not in result.incident_ids:
                result.incident_ids.append(incident_id)
            if alert.status == "resolved" and incident_id not in resolved_in:
                resolved_in.append(incident_id)
    for incident_id in resolved_in:
        await _close_if_all_resolved(conn, incident_id, queue)
    return result


async def _apply(conn: AsyncConnection[dict[str, Any]], alert: IncomingAlert, batch: AlertBatch, payload_id: int,
                 queue: IntakeQueue, window_seconds: float, cluster_error: Any, result: IngestResult) -> int | None:
    kind, name = (alert.resource.kind, alert.resource.name) if alert.resource else (None, None)
    found = await (await conn.execute(LOOKUP, {
        "fp": alert.fingerprint, "starts_at": alert.starts_at, "key": alert.join_key, "window": window_seconds,
        "cluster": alert.cluster, "namespace": alert.namespace, "kind": kind, "name": name,
        "recurrence": RECURRENCE_WINDOW_SECONDS,
    })).fetchone()
    assert found is not None
    what = f"{alert.alertname} ({alert.fingerprint})"
    data = Jsonb({"fingerprint": alert.fingerprint, "alertname": alert.alertname, "labels": alert.labels})
    if found["seen_status"] is not None:  # this firing is known: only a resolution changes anything
        if alert.status == "resolved" and found["seen_status"] != "resolved":
            await conn.execute(RESOLVE_ALERT, {"fp": alert.fingerprint, "starts_at": alert.starts_at,
                                               "ends_at": alert.ends_at, "source": alert.source,
                                               "message": f"alert {what} resolved", "data": data})
        return found["seen_incident"]
    priority = priority_for(alert.severity, alert.namespace, int(found["recent"]))
    incident_id = found["by_fingerprint"] or found["by_key"]
    if incident_id is None and alert.status == "firing":
        incident_id = await _open(conn, alert, batch, priority, int(found["recent"]), queue, cluster_error)
        result.opened.append(incident_id)
    result.new_alerts += 1
    await conn.execute(INSERT_ALERT, {
        "fp": alert.fingerprint, "starts_at": alert.starts_at, "incident": incident_id, "payload": payload_id,
        "source": alert.source, "alertname": alert.alertname, "status": alert.status, "ends_at": alert.ends_at,
        "labels": Jsonb(alert.labels), "annotations": Jsonb(alert.annotations),
        "generator_url": alert.generator_url, "priority": priority, "resolved": alert.status == "resolved",
        "message": f"alert {what} {alert.status}", "data": data,
    })
    return incident_id


async def _open(conn: AsyncConnection[dict[str, Any]], alert: IncomingAlert, batch: AlertBatch, priority: int,
                recent: int, queue: IntakeQueue, cluster_error: Any) -> int:
    reason: str | None = cluster_error(alert.cluster)
    status: Literal["open", "failed"] = "open" if reason is None else "failed"
    message = (f"opened as {label(priority)} from {alert.alertname}" if reason is None
               else f"opened and failed at once: {reason}")
    row = await (await conn.execute(OPEN_INCIDENT, {
        "cluster": alert.cluster, "namespace": alert.namespace,
        "kind": alert.resource.kind if alert.resource else None,
        "name": alert.resource.name if alert.resource else None,
        "family": alert.family, "key": alert.join_key, "title": alert.title(), "severity": alert.severity,
        "priority": priority, "status": status, "reason": reason, "group_key": batch.group_key,
        "message": message, "data": Jsonb({"priority": label(priority), "recent_incidents": recent,
                                           "family": alert.family, "join_key": alert.join_key}),
    })).fetchone()
    assert row is not None
    if reason is None:
        await queue.enqueue(conn, incident_id=row["id"], cluster=alert.cluster, priority=priority)
    return int(row["id"])


async def _close_if_all_resolved(conn: AsyncConnection[dict[str, Any]], incident_id: int, queue: IntakeQueue) -> None:
    row = await (await conn.execute(ALL_RESOLVED, (incident_id,))).fetchone()
    if row is None or not row["all_resolved"]:
        return
    if row["status"] in ("remediating", "verifying"):
        # Closing now would orphan a half-applied fix (or skip its verification); the remediation
        # decides how this ends.
        await conn.execute(NOTE, (incident_id, "note", "every alert resolved while a remediation is in flight; "
                                  "the incident stays open until the remediation ends"))
        return
    message = "every alert of the incident resolved"
    await conn.execute(CLOSE_RESOLVED, {"id": incident_id, "message": message})
    await queue.cancel_for_incident(conn, incident_id, f"incident {incident_id} resolved: {message}")
