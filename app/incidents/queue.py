"""The durable intake queue: work items in Postgres, claimed with leases, outcomes written down.

Why Postgres and not a broker: the item is written in the same transaction as the incident it
is about, so an acknowledged alert can never be lost between two systems. Workers claim with
`FOR UPDATE SKIP LOCKED` and hold a lease they keep alive with heartbeats; an item whose lease
ran out (its worker was killed) is claimed again and its runner told it is a resume.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from app.observability import WORK_ATTEMPTS

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "opsgraph_work"  # also spelled in enqueue_work (migration 0006)
# Claims are serialised by this transaction-level lock so the per-cluster limit holds exactly
# across replicas (two claimers would otherwise both see a free slot). A claim takes about a
# millisecond, so this costs nothing next to a diagnosis that runs for seconds.
CLAIM_LOCK_ID = 0x6F707171

# enqueue_work (migration 0006) inserts the item unless a live one exists, and notifies this channel.
ENQUEUE = """
SELECT enqueue_work(%(incident_id)s, %(kind)s, %(cluster)s, %(priority)s, %(max_attempts)s,
                    %(deadline_seconds)s) AS id"""

# Work runs in two lanes. A `verify` item watches a merged fix for its whole window, sleeping
# between looks: it has its own workers and is outside the per-cluster limit, so diagnosis on a
# cluster never waits behind verifications there. Everything else is the incident lane.
WATCH_KINDS = ["verify"]
Lane = Literal["incidents", "watch"]

CLAIM = """
WITH busy AS (
    SELECT cluster, count(*) AS running FROM work_items
    WHERE status = 'running' AND lease_expires_at > now() AND kind <> ALL (%(watch_kinds)s) GROUP BY cluster
), candidate AS (
    SELECT w.id, w.status = 'running' AS lost FROM work_items w LEFT JOIN busy b USING (cluster)
    WHERE ((w.status = 'queued' AND w.not_before <= now())
           OR (w.status = 'running' AND w.lease_expires_at <= now()
               AND w.attempts < w.max_attempts AND w.deadline > now()))  -- else SPENT_LOST fails it
      AND (w.kind = ANY (%(watch_kinds)s)) = %(watch)s
      AND (%(watch)s OR coalesce(b.running, 0) < %(per_cluster)s)
    ORDER BY w.priority, w.created_at
    LIMIT 1
    FOR UPDATE OF w SKIP LOCKED
)
UPDATE work_items w
SET status = 'running', attempts = w.attempts + 1, lease_owner = %(worker)s,
    lease_expires_at = now() + make_interval(secs => %(lease)s), heartbeat_at = now(), updated_at = now()
FROM candidate
WHERE w.id = candidate.id
RETURNING w.id, w.incident_id, w.kind, w.cluster, w.priority, w.attempts, w.max_attempts, w.deadline,
          w.run_id, candidate.lost"""
# Items whose worker was lost (lease expired) and that have no attempt or time left: a run that kills
# its worker every time must end, not take down one replica after another.
SPENT_LOST = """
SELECT id, incident_id, kind, cluster, priority, attempts, max_attempts, deadline, lease_owner, run_id,
       deadline <= now() AS late
FROM work_items
WHERE status = 'running' AND lease_expires_at <= now() AND (attempts >= max_attempts OR deadline <= now())"""
MARK_LOST = """
UPDATE work_attempts SET outcome = 'lost', finished_at = now(),
       message = 'lease expired: the worker stopped heartbeating (killed or partitioned)'
WHERE item_id = %s AND outcome IS NULL"""
BACKLOG_BY_KIND = """
SELECT kind, status, count(*) AS n FROM work_items WHERE status IN ('queued', 'running') GROUP BY kind, status"""
OLDEST_READY = """
SELECT coalesce(extract(epoch FROM now() - min(greatest(created_at, not_before))), 0)::float8 AS age
FROM work_items WHERE status = 'queued' AND not_before <= now()"""
START_ATTEMPT = "INSERT INTO work_attempts (item_id, attempt, worker, resume) VALUES (%s, %s, %s, %s)"
START_DIAGNOSIS = """
WITH moved AS (
    UPDATE incidents SET status = 'diagnosing', updated_at = now() WHERE id = %(incident_id)s AND status = 'open'
)
INSERT INTO incident_events (incident_id, kind, actor, message, data)
VALUES (%(incident_id)s, 'attempt_started', %(worker)s, %(message)s, %(data)s)"""

HEARTBEAT = """
UPDATE work_items SET lease_expires_at = now() + make_interval(secs => %(lease)s), heartbeat_at = now()
WHERE id = %(id)s AND lease_owner = %(worker)s AND attempts = %(attempt)s AND status = 'running'
RETURNING id"""
# A release (the worker is shutting down) is not a failed attempt: the item is queued again at once
# and the attempt it used is given back, so a rolling deploy never spends an incident's budget.
RELEASE = """
WITH released AS (
    UPDATE work_items SET status = 'queued', not_before = now(), lease_owner = NULL, lease_expires_at = NULL,
           max_attempts = max_attempts + 1, updated_at = now()
    WHERE id = %(id)s AND lease_owner = %(worker)s AND attempts = %(attempt)s AND status = 'running'
    RETURNING id
)
UPDATE work_attempts SET outcome = 'retry', finished_at = now(),
       message = 'released: the worker shut down; another worker resumes it from its checkpoint'
WHERE item_id IN (SELECT id FROM released) AND attempt = %(attempt)s"""
FINISH = """
UPDATE work_items SET status = %(status)s, not_before = coalesce(%(retry_at)s, not_before),
       lease_owner = NULL, lease_expires_at = NULL, last_message = %(message)s, updated_at = now()
WHERE id = %(id)s AND lease_owner = %(worker)s AND attempts = %(attempt)s AND status = 'running'
RETURNING id"""
# The same, for an item whose worker was lost: whoever gives up on it checks the lease has really
# run out in the same statement (a late heartbeat may have renewed it meanwhile).
FINISH_LOST = """
UPDATE work_items SET status = %(status)s, not_before = coalesce(%(retry_at)s, not_before),
       lease_owner = NULL, lease_expires_at = NULL, last_message = %(message)s, updated_at = now()
WHERE id = %(id)s AND attempts = %(attempt)s AND status = 'running' AND lease_expires_at <= now()
RETURNING id"""
FINISH_ATTEMPT = """
UPDATE work_attempts SET outcome = %(outcome)s, finished_at = now(), retry_at = %(retry_at)s, message = %(message)s
WHERE item_id = %(id)s AND attempt = %(attempt)s"""
CANCEL_FOR_INCIDENT = """
UPDATE work_items SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
       last_message = %(message)s
WHERE incident_id = %(incident_id)s AND (status = 'queued' OR (status = 'running' AND %(running)s))"""
LOCK_INCIDENT = "SELECT now() AS now FROM incidents WHERE id = %s FOR UPDATE"
NOW = "SELECT now() AS now"


@dataclass(frozen=True)
class Backlog:
    items: dict[tuple[str, str], int]  # (kind, status) → count, queued and running only
    oldest_ready_seconds: float


@dataclass(frozen=True)
class WorkItem:
    id: int
    incident_id: int | None  # None for a chat run (kind `chat_run`), which has `run_id` instead
    kind: str
    cluster: str
    priority: int
    attempt: int
    max_attempts: int
    deadline: datetime
    worker: str
    run_id: str | None = None

    @property
    def thread_id(self) -> str:
        """The LangGraph thread this item runs: one thread per incident."""
        return str(self.incident_id)


@dataclass(frozen=True)
class RunOutcome:
    status: Literal["done", "retry", "failed"]
    message: str
    retry_in_seconds: float | None = None

    @classmethod
    def done(cls, message: str = "done") -> RunOutcome:
        return cls("done", message)

    @classmethod
    def retry(cls, message: str, in_seconds: float | None = None) -> RunOutcome:
        return cls("retry", message, in_seconds)

    @classmethod
    def failed(cls, message: str) -> RunOutcome:
        return cls("failed", message)


@dataclass(frozen=True)
class Claim:
    item: WorkItem
    resume: bool  # an earlier attempt started: the runner continues from the thread's checkpoint


@dataclass(frozen=True)
class QueuePolicy:
    lease_seconds: float = 60.0
    per_cluster: int = 2
    max_attempts: int = 5
    deadline_seconds: float = 3600.0
    retry_base_seconds: float = 10.0


class IntakeQueue:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]], policy: QueuePolicy) -> None:
        self.pool = pool
        self.policy = policy

    async def enqueue(self, conn: AsyncConnection[dict[str, Any]], *, incident_id: int, cluster: str,
                      priority: int, kind: str = "diagnose") -> int | None:
        """Queue work inside the caller's transaction; workers are woken when it commits."""
        row = await (await conn.execute(ENQUEUE, {
            "incident_id": incident_id, "kind": kind, "cluster": cluster, "priority": priority,
            "max_attempts": self.policy.max_attempts, "deadline_seconds": self.policy.deadline_seconds,
        })).fetchone()
        return int(row["id"]) if row and row["id"] is not None else None

    async def claim(self, worker: str, lane: Lane = "incidents") -> Claim | None:
        """The most urgent claimable item of the lane, or None."""
        try:
            await self.fail_spent_lost_items()
        except Exception as exc:  # housekeeping; the claim below skips such items anyway
            log.warning("could not fail work items whose worker was lost: %s: %s", type(exc).__name__, exc)
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (CLAIM_LOCK_ID,))
            row = await (await conn.execute(CLAIM, {
                "worker": worker, "lease": self.policy.lease_seconds, "per_cluster": self.policy.per_cluster,
                "watch_kinds": WATCH_KINDS, "watch": lane == "watch",
            })).fetchone()
            if row is None:
                return None
            if row["lost"]:
                await conn.execute(MARK_LOST, (row["id"],))
            item = WorkItem(row["id"], row["incident_id"], row["kind"], row["cluster"], row["priority"],
                            row["attempts"], row["max_attempts"], row["deadline"], worker, _run_id(row))
            resume = item.attempt > 1
            await conn.execute(START_ATTEMPT, (item.id, item.attempt, worker, resume))
        if row["lost"]:  # the attempt that held it ended without a word: counted by whoever takes it over
            WORK_ATTEMPTS.labels(item.kind, "lost").inc()
        # A separate statement, after the claim committed: rows are locked incident-first
        # everywhere else, and holding the item while waiting for its incident could deadlock.
        verb = "resumed from its checkpoint" if resume else "started"
        why = " after the previous worker's lease expired" if row["lost"] else ""
        if item.incident_id is None:  # a chat run: its runner writes its own events
            return Claim(item, resume)
        async with self.pool.connection() as conn:
            await conn.execute(START_DIAGNOSIS, {
                "incident_id": item.incident_id, "worker": worker,
                "message": f"{item.kind} {verb} (attempt {item.attempt} of {item.max_attempts}){why}",
                "data": Jsonb({"item": item.id, "attempt": item.attempt, "resume": resume}),
            })
        return Claim(item, resume)

    async def fail_spent_lost_items(self) -> int:
        """Fail items whose worker was lost with no attempt or time left; how many were failed.

        Each goes through `finish` as its lost worker would have, so the incident fails with a reason
        and the timeline says why. Re-claiming them would run, and maybe crash on, the same step again.
        """
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(SPENT_LOST)).fetchall()
        failed = 0
        for row in rows:
            item = WorkItem(row["id"], row["incident_id"], row["kind"], row["cluster"], row["priority"],
                            row["attempts"], row["max_attempts"], row["deadline"], row["lease_owner"] or "",
                            _run_id(row))
            spent = ("its deadline passed" if row["late"]
                     else f"all {row['max_attempts']} attempts are spent")
            reason = (f"the worker running attempt {row['attempts']} was lost (killed, crashed or partitioned: "
                      f"its lease expired) and {spent}")
            if await self.finish(item, RunOutcome.failed(reason), lost=True) is not None:
                failed += 1
        return failed

    async def backlog(self) -> Backlog:
        """Queued and running items by kind, and how long the oldest runnable one has waited."""
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(BACKLOG_BY_KIND)).fetchall()
            oldest = await (await conn.execute(OLDEST_READY)).fetchone()
        return Backlog({(r["kind"], r["status"]): int(r["n"]) for r in rows}, float(oldest["age"]) if oldest else 0.0)

    async def heartbeat(self, item: WorkItem) -> bool:
        """Extend the lease; False when the item is no longer ours (re-claimed or cancelled)."""
        async with self.pool.connection() as conn:
            row = await (await conn.execute(HEARTBEAT, {
                "lease": self.policy.lease_seconds, "id": item.id, "worker": item.worker, "attempt": item.attempt,
            })).fetchone()
        return row is not None

    async def release(self, item: WorkItem) -> None:
        """Give the item up now (shutting down): another worker resumes it without waiting for the lease."""
        async with self.pool.connection() as conn:
            await conn.execute(RELEASE, {"id": item.id, "worker": item.worker, "attempt": item.attempt})

    async def finish(self, item: WorkItem, outcome: RunOutcome, *, lost: bool = False) -> str | None:
        """Write the attempt's outcome; return the item's new status, None if it was no longer ours.

        A retry is checked against the budget and the deadline before it is scheduled, so an item
        never waits for a retry it will not be allowed to make. `lost`: the attempt's worker is gone
        (its lease expired); the attempt is recorded as lost.
        """
        async with self.pool.connection() as conn, conn.transaction():
            # Incident first, then the item: the lock order every writer keeps.
            locked = (LOCK_INCIDENT, (item.incident_id,)) if item.incident_id is not None else (NOW, ())
            now = (await (await conn.execute(*locked)).fetchone() or {})["now"]
            status, retry_at, message = _decide(item, outcome, now, self.policy)
            row = await (await conn.execute(FINISH_LOST if lost else FINISH, {
                "status": status, "retry_at": retry_at, "message": message, "id": item.id,
                "worker": item.worker, "attempt": item.attempt,
            })).fetchone()
            if row is None:
                return None
            attempt_outcome = "lost" if lost else "retry" if status == "queued" else status
            await conn.execute(FINISH_ATTEMPT, {"outcome": attempt_outcome, "retry_at": retry_at,
                                                "message": message, "id": item.id, "attempt": item.attempt})
            if item.incident_id is None:  # a chat run: migration 0010's trigger settles it on failure
                WORK_ATTEMPTS.labels(item.kind, attempt_outcome).inc()
                return status
            await conn.execute(
                "INSERT INTO incident_events (incident_id, kind, actor, message, data) VALUES (%s, %s, %s, %s, %s)",
                (item.incident_id, f"attempt_{attempt_outcome}", item.worker or "queue", message,
                 Jsonb({"item": item.id, "attempt": item.attempt,
                       "retry_at": retry_at.isoformat() if retry_at else None})),
            )
            if status == "failed":
                await conn.execute(
                    "UPDATE incidents SET status = 'failed', status_reason = %s, closed_at = now(), updated_at = now() "
                    "WHERE id = %s AND closed_at IS NULL", (message, item.incident_id))
        WORK_ATTEMPTS.labels(item.kind, attempt_outcome).inc()
        log.info(message, extra={"incident": item.incident_id, "item": item.id, "outcome": attempt_outcome})
        return status

    async def cancel_for_incident(self, conn: AsyncConnection[dict[str, Any]], incident_id: int, why: str, *,
                                  running: bool = True) -> None:
        """Cancel queued (and running) items; a running worker sees it at its next heartbeat and stops."""
        await conn.execute(CANCEL_FOR_INCIDENT, {"incident_id": incident_id, "message": why, "running": running})


def _run_id(row: dict[str, Any]) -> str | None:
    return str(row["run_id"]) if row.get("run_id") is not None else None


def _decide(item: WorkItem, outcome: RunOutcome, now: datetime,
            policy: QueuePolicy) -> tuple[str, datetime | None, str]:
    """The item's next status, when to retry, and the one-sentence message that says so."""
    what = (f"{item.kind} for incident {item.incident_id}" if item.incident_id is not None
            else f"{item.kind} {item.run_id}")
    if outcome.status == "done":
        return "done", None, f"{what} done: {outcome.message}"
    if outcome.status == "failed":
        return "failed", None, f"{what} failed: {outcome.message}; not retrying"
    delay = outcome.retry_in_seconds
    if delay is None:  # exponential back-off from the policy's base
        delay = policy.retry_base_seconds * 2 ** (item.attempt - 1)
    retry_at = now + timedelta(seconds=delay)
    if item.attempt >= item.max_attempts:
        return "failed", None, (f"{what} failed temporarily: {outcome.message}; retry budget of "
                                f"{item.max_attempts} attempts spent, giving up")
    if retry_at > item.deadline:
        return "failed", None, f"{what} failed temporarily: {outcome.message}; its deadline passes first, giving up"
    return "queued", retry_at, f"{what} failed temporarily: {outcome.message}; retrying in {delay:g} s"
