"""ApprovalStore: record a person's decision on the pending change, exactly once, and queue the resume.

Everything is checked and written in one transaction with the incident row locked, so two clicks,
two replicas or a click racing an expiry cannot both win.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from agents.remediation import ApprovalDecision
from app.incidents.errors import IncidentNotFound
from app.incidents.queue import IntakeQueue
from app.incidents.status import IncidentStatus

LOCK_INCIDENT = "SELECT status, cluster, priority, plan FROM incidents WHERE id = %s FOR UPDATE"
INSERT_DECISION = """
INSERT INTO approvals (incident_id, diff_hash, decision, approver, edits, reason, decided_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (incident_id, diff_hash) WHERE applied_at IS NULL DO NOTHING
RETURNING id"""
# The latest decision on a change; one already applied answers only the question it was given for
# (the same change asked again after a person's reply is a new question: migration 0009).
SELECT_DECISION = """
SELECT decision, approver, diff_hash, edits, reason, decided_at AS at, applied_at FROM approvals
WHERE incident_id = %s AND diff_hash = %s ORDER BY decided_at DESC, id DESC LIMIT 1"""
SELECT_OPEN_DECISION = """
SELECT decision, approver, diff_hash, edits, reason, decided_at AS at FROM approvals
WHERE incident_id = %s AND diff_hash = %s AND applied_at IS NULL"""
SWEEPER = "opsgraph"  # the actor of expiry entries on the timeline
MARK_APPLIED = "UPDATE approvals SET applied_at = now() WHERE incident_id = %s AND diff_hash = %s AND applied_at IS NULL"
ADD_EVENT = """
INSERT INTO incident_events (incident_id, kind, actor, message, data) VALUES (%s, 'approval', %s, %s, %s)"""
EXPIRE = """
UPDATE incidents SET status = 'awaiting_human', status_reason = %s, updated_at = now() WHERE id = %s"""
# Every pending request past its expiry, in one statement: any replica may run it at any time. A row
# another transaction holds (a decision being recorded) is waited for and then re-checked, and a
# request that already has a decision is left to the resume that decision queued.
EXPIRE_DUE = """
WITH due AS (
    UPDATE incidents i
    SET status = 'awaiting_human', updated_at = now(),
        status_reason = 'approval request expired at ' || (i.plan->>'expires_at') || '; a person must look again'
    WHERE i.status = 'awaiting_approval' AND i.plan->>'kind' = 'approval'
      AND (i.plan->>'expires_at')::timestamptz < now()
      AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.incident_id = i.id AND a.diff_hash = i.plan->>'diff_hash'
                      AND a.applied_at IS NULL)
    RETURNING i.id, i.status_reason, i.plan->>'diff_hash' AS diff_hash
), logged AS (
    INSERT INTO incident_events (incident_id, kind, actor, message, data)
    SELECT id, 'status', %(actor)s, status_reason,
           jsonb_build_object('from', 'awaiting_approval', 'to', 'awaiting_human', 'reason', status_reason,
                              'diff_hash', diff_hash)
    FROM due
)
SELECT id FROM due ORDER BY id"""


class DecisionRefused(Exception):
    """A decision that cannot be taken; `status` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ApprovalStore:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]], queue: IntakeQueue) -> None:
        self.pool = pool
        self.queue = queue

    async def pending(self, incident_id: int) -> dict[str, Any]:
        """The approval request the incident waits on; DecisionRefused(409) when there is none."""
        async with self.pool.connection() as conn:
            row = await (await conn.execute("SELECT status, plan FROM incidents WHERE id = %s",
                                            (incident_id,))).fetchone()
        if row is None:
            raise IncidentNotFound(incident_id)
        request = row["plan"] or {}
        if row["status"] != IncidentStatus.AWAITING_APPROVAL or request.get("kind") != "approval":
            raise DecisionRefused(409, f"incident {incident_id} has no change awaiting approval "
                                       f"(status: {row['status']})")
        return dict(request)

    async def decide(self, incident_id: int, decision: ApprovalDecision) -> dict[str, Any]:
        async with self.pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(LOCK_INCIDENT, (incident_id,))).fetchone()
            if row is None:
                raise IncidentNotFound(incident_id)
            request = row["plan"] or {}
            first = await (await conn.execute(SELECT_DECISION, (incident_id, decision.diff_hash))).fetchone()
            asked_again = (first is not None and first["applied_at"] is not None
                           and row["status"] == IncidentStatus.AWAITING_APPROVAL and request.get("kind") == "approval"
                           and request.get("diff_hash") == decision.diff_hash)
            if first is not None and not asked_again:
                raise DecisionRefused(409, f"already decided: {first['decision']} by {first['approver']} at "
                                           f"{first['at'].isoformat()}")
            if row["status"] != IncidentStatus.AWAITING_APPROVAL or request.get("kind") != "approval":
                raise DecisionRefused(409, f"incident {incident_id} has no change awaiting approval "
                                           f"(status: {row['status']})")
            if request.get("diff_hash") != decision.diff_hash:
                raise DecisionRefused(409, f"change {decision.diff_hash[:12]} was superseded: the pending change "
                                           f"is {str(request.get('diff_hash'))[:12]}")
            expired: str | None = None
            if datetime.fromisoformat(request["expires_at"]) < datetime.now(UTC):
                # Written here, refused after the commit: raising inside the transaction would roll it back.
                expired = f"approval request expired at {request['expires_at']}; a person must look again"
                await conn.execute(EXPIRE, (expired, incident_id))
                await conn.execute(ADD_EVENT, (incident_id, SWEEPER, expired,
                                               Jsonb({"diff_hash": request.get("diff_hash")})))
            else:
                await self._record(conn, incident_id, decision, row)
        if expired is not None:
            raise DecisionRefused(409, expired)
        return {"incident_id": incident_id, "decision": decision.decision, "diff_hash": decision.diff_hash,
                "approver": decision.approver}

    async def _record(self, conn: AsyncConnection[dict[str, Any]], incident_id: int, decision: ApprovalDecision,
                      row: dict[str, Any]) -> None:
        await conn.execute(INSERT_DECISION, (incident_id, decision.diff_hash, decision.decision, decision.approver,
                                             Jsonb([e.model_dump(mode="json") for e in decision.edits]),
                                             decision.reason, decision.at))
        message = f"{decision.decision} by {decision.approver}" + (f": {decision.reason}" if decision.reason else "")
        await conn.execute(ADD_EVENT, (incident_id, decision.approver, message,
                                       Jsonb({"diff_hash": decision.diff_hash, "edits": len(decision.edits)})))
        await self.queue.enqueue(conn, incident_id=incident_id, cluster=row["cluster"], priority=row["priority"],
                                 kind="resume")

    async def expire_due(self) -> list[int]:
        """Hand every approval request past its expiry to a person; the incidents moved (idempotent)."""
        async with self.pool.connection() as conn, conn.transaction():
            rows = await (await conn.execute(EXPIRE_DUE, {"actor": SWEEPER})).fetchall()
        return [int(row["id"]) for row in rows]

    async def decision_for(self, incident_id: int, diff_hash: str) -> ApprovalDecision | None:
        async with self.pool.connection() as conn:
            row = await (await conn.execute(SELECT_OPEN_DECISION, (incident_id, diff_hash))).fetchone()
        return ApprovalDecision.model_validate(row) if row else None

    async def mark_applied(self, incident_id: int, diff_hash: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(MARK_APPLIED, (incident_id, diff_hash))
