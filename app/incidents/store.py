"""IncidentStore: ingest deliveries, read incidents, move them through their lifecycle, keep the timeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from app.incidents.alerts import AlertBatch
from app.incidents.errors import IncidentNotFound
from app.incidents.ingest import IngestResult, ingest_batch
from app.incidents.queue import IntakeQueue
from app.incidents.status import TERMINAL, IncidentStatus, check_transition
from app.observability import ALERTS_RECEIVED, DUPLICATE_DELIVERIES, INCIDENTS_OPENED

ADD_EVENT = """
INSERT INTO incident_events (incident_id, kind, actor, message, data) VALUES (%s, %s, %s, %s, %s)
RETURNING id, at"""
INCIDENT_COLUMNS = """
id, cluster, namespace, resource_kind, resource_name, family, title, severity, priority, status, status_reason,
group_key, diagnosis, plan, pr, created_at, updated_at, last_alert_at, closed_at"""
SELECT_INCIDENT = f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = %s"
SELECT_FOR_UPDATE = "SELECT status FROM incidents WHERE id = %s FOR UPDATE"
SELECT_ALERTS = """
SELECT fingerprint, starts_at, ends_at, status, alertname, source, labels, annotations, generator_url, first_seen
FROM incident_alerts WHERE incident_id = %s ORDER BY first_seen, fingerprint"""
SELECT_TIMELINE = "SELECT id, at, kind, actor, message, data FROM incident_events WHERE incident_id = %s ORDER BY id"
SELECT_FEEDBACK = """
SELECT count(*) FILTER (WHERE vote = 'up') AS up, count(*) FILTER (WHERE vote = 'down') AS down
FROM incident_feedback WHERE incident_id = %s"""
UPDATE_STATUS = """
UPDATE incidents SET status = %(status)s, status_reason = coalesce(%(reason)s, status_reason), updated_at = now(),
       closed_at = CASE WHEN %(terminal)s THEN now() ELSE closed_at END
WHERE id = %(id)s"""
SET_RESULT = "UPDATE incidents SET {column} = %s, updated_at = now() WHERE id = %s"
LIST_BASE = f"SELECT {INCIDENT_COLUMNS} FROM incidents"


@dataclass(frozen=True)
class IncidentFilter:
    status: str | None = None
    cluster: str | None = None
    namespace: str | None = None
    priority: int | None = None
    since: datetime | None = None
    before_id: int | None = None  # keyset cursor: incidents older than this id
    limit: int = 50


class IncidentStore:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]], queue: IntakeQueue, *,
                 join_window_seconds: float, cluster_error: Callable[[str], str | None],
                 acquire_timeout: float | None = None) -> None:
        self.pool = pool
        self.queue = queue
        self.join_window_seconds = join_window_seconds
        self.cluster_error = cluster_error
        # Requests wait this long for a connection before answering 503 (Alertmanager retries).
        self.acquire_timeout = acquire_timeout

    async def ingest(self, batch: AlertBatch) -> IngestResult:
        """Persist one delivery atomically; returns only once it is committed."""
        async with self.pool.connection(timeout=self.acquire_timeout) as conn:
            result = await ingest_batch(conn, batch, queue=self.queue, window_seconds=self.join_window_seconds,
                                        cluster_error=self.cluster_error)
        if result.duplicate_payload:
            DUPLICATE_DELIVERIES.labels(batch.source).inc()
        if result.new_alerts:  # firings not seen before; a re-notification of one is not counted again
            ALERTS_RECEIVED.labels(batch.source).inc(result.new_alerts)
        if result.opened:
            INCIDENTS_OPENED.labels(batch.source).inc(len(result.opened))
        return result

    async def live_by_status(self) -> dict[str, int]:
        """How many incidents that have not ended are in each status."""
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(
                "SELECT status, count(*) AS n FROM incidents WHERE closed_at IS NULL GROUP BY status")).fetchall()
        return {r["status"]: int(r["n"]) for r in rows}

    async def add_timeline(self, incident_id: int, kind: str, message: str, *, actor: str,
                           data: dict[str, Any] | None = None,
                           conn: AsyncConnection[dict[str, Any]] | None = None) -> int:
        """Append one step to the incident's timeline (what the graph calls for each thing it does)."""
        if conn is not None:
            return await self._add_event(conn, incident_id, kind, message, actor, data)
        async with self.pool.connection() as own:
            return await self._add_event(own, incident_id, kind, message, actor, data)

    async def transition(self, incident_id: int, status: IncidentStatus | str, *, actor: str, message: str,
                         reason: str | None = None, stop_running: bool = False) -> None:
        """Move to `status` if the lifecycle allows it, with a timeline entry; IllegalTransition otherwise.

        Ending the incident drops its queued work. Running work is stopped only with `stop_running`
        (a human cancelled): when the graph itself ends the incident, the running item is that graph.
        """
        async with self.pool.connection() as conn, conn.transaction():
            current = await self._lock(conn, incident_id)
            check_transition(incident_id, current, str(status))
            target = IncidentStatus(status)
            await conn.execute(UPDATE_STATUS, {"status": target.value, "reason": reason,
                                               "terminal": target in TERMINAL, "id": incident_id})
            await self._add_event(conn, incident_id, "status", message, actor,
                                  {"from": current, "to": target.value, "reason": reason})
            if target in TERMINAL:
                await self.queue.cancel_for_incident(conn, incident_id, f"incident {incident_id} {target.value}",
                                                     running=stop_running)

    async def cancel(self, incident_id: int, *, actor: str, reason: str | None = None) -> None:
        why = f"cancelled by {actor}" + (f": {reason}" if reason else "")
        await self.transition(incident_id, IncidentStatus.CANCELLED, actor=actor, message=why, reason=why,
                              stop_running=True)

    async def set_result(self, incident_id: int, column: str, value: dict[str, Any] | None) -> None:
        """Store the graph's diagnosis, plan or pr (rendered by the API as they are)."""
        if column not in ("diagnosis", "plan", "pr"):
            raise ValueError(f"unknown result column {column!r}")
        async with self.pool.connection() as conn:
            cur = await conn.execute(SET_RESULT.format(column=column), (Jsonb(value), incident_id))
            if cur.rowcount == 0:
                raise IncidentNotFound(incident_id)

    async def get(self, incident_id: int) -> dict[str, Any]:
        """The incident with its alerts and timeline."""
        async with self.pool.connection(timeout=self.acquire_timeout) as conn:
            row = await (await conn.execute(SELECT_INCIDENT, (incident_id,))).fetchone()
            if row is None:
                raise IncidentNotFound(incident_id)
            row["alerts"] = await (await conn.execute(SELECT_ALERTS, (incident_id,))).fetchall()
            row["timeline"] = await (await conn.execute(SELECT_TIMELINE, (incident_id,))).fetchall()
            # 👍/👎 counts; who voted and why is at /incidents/{id}/feedback.
            row["feedback"] = await (await conn.execute(SELECT_FEEDBACK, (incident_id,))).fetchone()
        return row

    async def list(self, where: IncidentFilter) -> list[dict[str, Any]]:
        clauses, params = [], []
        for column, value in (("status", where.status), ("cluster", where.cluster),
                              ("namespace", where.namespace), ("priority", where.priority)):
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(value)
        if where.since is not None:
            clauses.append("created_at >= %s")
            params.append(where.since)
        if where.before_id is not None:
            clauses.append("id < %s")
            params.append(where.before_id)
        sql = LIST_BASE + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY id DESC LIMIT %s"
        params.append(where.limit)
        async with self.pool.connection(timeout=self.acquire_timeout) as conn:
            return await (await conn.execute(sql, params)).fetchall()  # type: ignore[arg-type]

    @staticmethod
    async def _lock(conn: AsyncConnection[dict[str, Any]], incident_id: int) -> str:
        row = await (await conn.execute(SELECT_FOR_UPDATE, (incident_id,))).fetchone()
        if row is None:
            raise IncidentNotFound(incident_id)
        return str(row["status"])

    @staticmethod
    async def _add_event(conn: AsyncConnection[dict[str, Any]], incident_id: int, kind: str, message: str,
                         actor: str, data: dict[str, Any] | None) -> int:
        row = await (await conn.execute(ADD_EVENT, (incident_id, kind, actor, message, Jsonb(data or {})))).fetchone()
        assert row is not None
        return int(row["id"])
