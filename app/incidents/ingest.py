"""One delivery in one transaction: raw payload, alerts, incidents, timeline and work items.

The webhook acknowledges only after this commits, so an acknowledged alert is never lost, and
every write is keyed so a redelivery changes nothing:
- the payload by the sha256 of its body as received: Alertmanager's retries resend the same bytes
  (a redelivery bumps `deliveries`; migration 0002's column comment says "canonical JSON", which
  it is not, and a differently serialised copy is still idempotent by the alert keys below);
- an alert by fingerprint + startsAt (Alertmanager's identity of one firing);
- an incident's work by the partial unique index "one live item per incident".

The join rules run in Postgres, in `ingest_delivery` (migration 0006, restated in 0007), so a
delivery costs one round trip: here we decide what needs no rows (cluster, workload, family, join key, priority,
title, whether the cluster is known) and the function reads and writes the rows in order.
Concurrent deliveries about the same workload (two replicas, a storm split over requests) are
serialised there by transaction-level advisory locks on the join keys, taken in sorted order so
two transactions can never wait on each other in a cycle.

A delivery that resolves alerts takes a second step in the same transaction: closing incidents
whose alerts are all resolved, which cancels their queued work (the queue's own statement).

Lock order with the workers: incident rows before work-item rows, everywhere.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from app.incidents.alerts import AlertBatch, IncomingAlert
from app.incidents.priority import RECURRENCE_THRESHOLD, RECURRENCE_WINDOW_SECONDS, priority_for
from app.incidents.queue import IntakeQueue

INGEST_DELIVERY = """
SELECT payload_id, duplicate, incident_ids, opened, resolved_in, new_alerts
FROM ingest_delivery(%(source)s, %(digest)s, %(group_key)s, %(body)s::jsonb, %(alerts)s::jsonb, %(locks)s::bigint[],
                     %(window)s, %(recurrence_seconds)s, %(recurrence_threshold)s,
                     %(max_attempts)s, %(deadline_seconds)s)"""
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


def intake_row(alert: IncomingAlert, cluster_error: Any) -> dict[str, Any]:
    """The alert as `ingest_delivery` takes it (the SQL type `intake_alert`)."""
    return {
        "fingerprint": alert.fingerprint, "starts_at": alert.starts_at.isoformat(),
        "ends_at": alert.ends_at.isoformat() if alert.ends_at else None, "status": alert.status,
        "source": alert.source, "alertname": alert.alertname, "labels": alert.labels,
        "annotations": alert.annotations, "generator_url": alert.generator_url, "cluster": alert.cluster,
        "namespace": alert.namespace, "resource_kind": alert.resource.kind if alert.resource else None,
        "resource_name": alert.resource.name if alert.resource else None, "family": alert.family,
        "join_key": alert.join_key, "title": alert.title(), "severity": alert.severity,
        # The recurrence count needs rows; both answers go in and the function picks one.
        "priority": priority_for(alert.severity, alert.namespace, 0),
        "priority_recurring": priority_for(alert.severity, alert.namespace, RECURRENCE_THRESHOLD - 1),
        "intake_error": cluster_error(alert.cluster),
        "event_data": {"fingerprint": alert.fingerprint, "alertname": alert.alertname, "labels": alert.labels,
                       **({"replaced_fields": list(alert.replaced_fields)} if alert.replaced_fields else {})},
    }


async def ingest_batch(
    conn: AsyncConnection[dict[str, Any]],
    batch: AlertBatch,
    *,
    queue: IntakeQueue,
    window_seconds: float,
    cluster_error: Any,
) -> IngestResult:
    """Apply one delivery atomically; `cluster_error(id)` says why a cluster is unknown.

    On an autocommit connection (the pool's) it returns once the delivery is committed; inside a
    caller's transaction it becomes part of that transaction."""
    params = {
        # As JSON values, not text: the JSON dumper makes the body's escaped NULs storable (app/db/storable_text).
        "source": batch.source, "digest": batch.digest, "group_key": batch.group_key,
        "body": Jsonb(json.loads(batch.body)), "alerts": Jsonb([intake_row(a, cluster_error) for a in batch.alerts]),
        "locks": sorted({lock_id(a.join_key) for a in batch.alerts}),
        "window": window_seconds, "recurrence_seconds": RECURRENCE_WINDOW_SECONDS,
        "recurrence_threshold": RECURRENCE_THRESHOLD, "max_attempts": queue.policy.max_attempts,
        "deadline_seconds": queue.policy.deadline_seconds,
    }
    if not any(a.status == "resolved" for a in batch.alerts):
        # Nothing can close: the one statement is the whole transaction (autocommit).
        return _result(await _apply(conn, params))
    async with conn.transaction():
        row = await _apply(conn, params)
        for incident_id in row["resolved_in"]:
            await _close_if_all_resolved(conn, incident_id, queue)
    return _result(row)


async def _apply(conn: AsyncConnection[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    row = await (await conn.execute(INGEST_DELIVERY, params)).fetchone()
    assert row is not None
    return row


def _result(row: dict[str, Any]) -> IngestResult:
    return IngestResult(incident_ids=list(row["incident_ids"]), opened=list(row["opened"]),
                        duplicate_payload=bool(row["duplicate"]), new_alerts=int(row["new_alerts"]))


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
