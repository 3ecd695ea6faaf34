"""PullRequestStore: what a pull request's fate does to its incident, and the verification that follows a merge.

A webhook delivery and a poll feed the same `record` call. It runs in one transaction: the delivery
is written once (a redelivery finds it and changes nothing), the incident is found by PR number +
repo or by head branch and locked, and only a transition the lifecycle allows is made, so the same
state seen twice is one transition. A merge queues a `verify` work item in that transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from app.incidents.queue import IntakeQueue
from app.incidents.status import TERMINAL, IncidentStatus, check_transition
from app.incidents.store import ADD_EVENT, UPDATE_STATUS

VERIFY_KIND = "verify"
GITHUB = "github"  # timeline actor of what GitHub reported
OPSGRAPH = "opsgraph"

INSERT_DELIVERY = """
INSERT INTO github_deliveries (delivery_id, event, action, repo, pr_number, outcome)
VALUES (%(delivery)s, %(event)s, %(action)s, %(repo)s, %(number)s, 'received')
ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id"""
SELECT_DELIVERY = "SELECT incident_id, outcome FROM github_deliveries WHERE delivery_id = %s"
SET_DELIVERY_OUTCOME = "UPDATE github_deliveries SET outcome = %s, incident_id = %s WHERE delivery_id = %s"
# Number + repo first (the PR the runner recorded), then the head branch it pushed.
FIND_INCIDENT = """
SELECT id, status, cluster, priority, pr FROM incidents
WHERE pr IS NOT NULL AND coalesce(pr ->> 'repo', %(repo)s) = %(repo)s
  AND ((pr ->> 'number')::bigint = %(number)s OR pr ->> 'branch' = %(head)s)
ORDER BY ((pr ->> 'number')::bigint = %(number)s) DESC NULLS LAST, id DESC
LIMIT 1 FOR UPDATE"""
INSERT_VERIFICATION = """
INSERT INTO incident_verifications (incident_id, repo, pr_number, merge_commit, merged_by, merged_at)
VALUES (%(id)s, %(repo)s, %(number)s, %(commit)s, %(by)s, coalesce(%(at)s, now()))
ON CONFLICT (incident_id) DO NOTHING"""
SELECT_VERIFICATION = "SELECT * FROM incident_verifications WHERE incident_id = %s"
CONCLUDE = """
UPDATE incident_verifications SET outcome = %(outcome)s, summary = %(summary)s, evidence = %(evidence)s
WHERE incident_id = %(id)s AND outcome IS NULL"""
SET_COMMENT = "UPDATE incident_verifications SET comment_url = %s WHERE incident_id = %s"
FINISH = "UPDATE incident_verifications SET finished_at = now() WHERE incident_id = %s"
LOCK_STATUS = "SELECT status, cluster, priority FROM incidents WHERE id = %s FOR UPDATE"
AWAITING_MERGE = """
SELECT id, pr FROM incidents
WHERE status = 'remediating' AND pr ->> 'number' IS NOT NULL AND coalesce(pr ->> 'repo', %s) = %s
ORDER BY id"""

Outcome = Literal["verifying", "rejected", "unchanged", "ignored", "duplicate"]
MERGEABLE = frozenset({IncidentStatus.REMEDIATING, IncidentStatus.AWAITING_HUMAN})


@dataclass(frozen=True)
class PullRequestChange:
    """A pull request as a webhook or a poll saw it."""

    repo: str
    number: int
    head: str
    url: str
    state: str  # open | closed
    merged: bool
    merge_commit: str | None = None
    merged_by: str | None = None
    merged_at: datetime | None = None
    closed_by: str | None = None


@dataclass(frozen=True)
class Recorded:
    outcome: Outcome
    incident_id: int | None
    message: str


class PullRequestStore:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]], queue: IntakeQueue,
                 *, acquire_timeout: float | None = None) -> None:
        self.pool = pool
        self.queue = queue
        self.acquire_timeout = acquire_timeout

    async def record(self, change: PullRequestChange, *, delivery: str, event: str, action: str | None) -> Recorded:
        """Apply a closed pull request to its incident, once per delivery and once per state."""
        async with self.pool.connection(timeout=self.acquire_timeout) as conn, conn.transaction():
            fresh = await (await conn.execute(INSERT_DELIVERY, {"delivery": delivery, "event": event, "action": action,
                                                                "repo": change.repo, "number": change.number})).fetchone()
            if fresh is None:
                seen = await (await conn.execute(SELECT_DELIVERY, (delivery,))).fetchone() or {}
                return Recorded("duplicate", seen.get("incident_id"),
                                f"delivery {delivery} was handled before ({seen.get('outcome')}); nothing changed")
            recorded = await self._apply(conn, change)
            await conn.execute(SET_DELIVERY_OUTCOME, (recorded.outcome, recorded.incident_id, delivery))
        return recorded

    async def _apply(self, conn: AsyncConnection[dict[str, Any]], change: PullRequestChange) -> Recorded:
        pr = f"pull request #{change.number} ({change.repo})"
        row = await (await conn.execute(FIND_INCIDENT, {"repo": change.repo, "number": change.number,
                                                        "head": change.head})).fetchone()
        if row is None:
            return Recorded("ignored", None, f"{pr} belongs to no incident; ignored")
        incident_id, status = int(row["id"]), IncidentStatus(row["status"])
        if change.state != "closed":
            return Recorded("unchanged", incident_id, f"{pr} is {change.state}; incident {incident_id} stays {status}")
        if change.merged and status in MERGEABLE:
            await self._merged(conn, incident_id, row, change, status)
            return Recorded("verifying", incident_id, f"{pr} merged; incident {incident_id} is verifying")
        if not change.merged and status == IncidentStatus.REMEDIATING:
            who = f" by {change.closed_by}" if change.closed_by else ""
            message = (f"{pr} was closed without merging{who}: the change was rejected; incident {incident_id} "
                       "waits for a person")
            await _add(conn, incident_id, "pr_rejected", message, {"pr": change.number, "url": change.url,
                                                                   "closed_by": change.closed_by}, GITHUB)
            await _move(conn, incident_id, status, IncidentStatus.AWAITING_HUMAN, message,
                        reason="pull request closed without merging", actor=GITHUB)
            return Recorded("rejected", incident_id, message)
        state = "merged" if change.merged else "closed"
        return Recorded("unchanged", incident_id, f"{pr} {state}; incident {incident_id} is already {status}")

    async def _merged(self, conn: AsyncConnection[dict[str, Any]], incident_id: int, row: dict[str, Any],
                      change: PullRequestChange, status: IncidentStatus) -> None:
        who = f" by {change.merged_by}" if change.merged_by else ""
        commit = change.merge_commit or (row["pr"] or {}).get("commit")
        message = f"pull request #{change.number} merged{who}; verifying the workload"
        await _add(conn, incident_id, "pr_merged", message, {"pr": change.number, "url": change.url,
                                                             "merge_commit": commit, "merged_by": change.merged_by},
                   GITHUB)
        await conn.execute(INSERT_VERIFICATION, {"id": incident_id, "repo": change.repo, "number": change.number,
                                                 "commit": commit, "by": change.merged_by, "at": change.merged_at})
        await _move(conn, incident_id, status, IncidentStatus.VERIFYING, message, reason="fix merged; verifying",
                    actor=GITHUB)
        await self.queue.enqueue(conn, incident_id=incident_id, cluster=row["cluster"], priority=row["priority"],
                                 kind=VERIFY_KIND)

    async def awaiting_merge(self, repo: str) -> list[tuple[int, int]]:
        """(incident id, PR number) of every remediating incident with a pull request in `repo`."""
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(AWAITING_MERGE, (repo, repo))).fetchall()
        return [(int(r["id"]), int(r["pr"]["number"])) for r in rows]

    async def verification(self, incident_id: int) -> dict[str, Any] | None:
        async with self.pool.connection() as conn:
            return await (await conn.execute(SELECT_VERIFICATION, (incident_id,))).fetchone()

    async def conclude(self, incident_id: int, outcome: Literal["healthy", "failing"], summary: str,
                       evidence: dict[str, Any]) -> None:
        """Write what the verification found, once: a resumed run then only finishes the steps left."""
        async with self.pool.connection() as conn:
            await conn.execute(CONCLUDE, {"outcome": outcome, "summary": summary, "evidence": Jsonb(evidence),
                                          "id": incident_id})

    async def set_comment(self, incident_id: int, url: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(SET_COMMENT, (url, incident_id))

    async def finish(self, incident_id: int, target: IncidentStatus, message: str, *, reason: str,
                     events: list[tuple[str, str, dict[str, Any]]]) -> bool:
        """Move a verifying incident to `target` with its timeline entries, in one transaction; False if it
        is no longer verifying (a person or the alerts ended it meanwhile, or this ran before)."""
        async with self.pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(LOCK_STATUS, (incident_id,))).fetchone()
            if row is None or row["status"] != IncidentStatus.VERIFYING:
                return False
            for kind, text, data in events:
                await _add(conn, incident_id, kind, text, data, OPSGRAPH)
            await _move(conn, incident_id, IncidentStatus.VERIFYING, target, message, reason=reason, actor=OPSGRAPH)
            await conn.execute(FINISH, (incident_id,))
            if target == IncidentStatus.REOPENED:  # the graph asks a person what now (graphs/human_help.py)
                await self.queue.enqueue(conn, incident_id=incident_id, cluster=row["cluster"],
                                         priority=row["priority"], kind="resume")
            if target in TERMINAL:
                await self.queue.cancel_for_incident(conn, incident_id, f"incident {incident_id} {target.value}",
                                                     running=False)
        return True


async def _add(conn: AsyncConnection[dict[str, Any]], incident_id: int, kind: str, message: str,
               data: dict[str, Any], actor: str) -> None:
    await conn.execute(ADD_EVENT, (incident_id, kind, actor, message, Jsonb(data)))


async def _move(conn: AsyncConnection[dict[str, Any]], incident_id: int, current: IncidentStatus,
                target: IncidentStatus, message: str, *, reason: str, actor: str) -> None:
    check_transition(incident_id, current, target)
    await conn.execute(UPDATE_STATUS, {"status": target.value, "reason": reason, "terminal": target in TERMINAL,
                                       "id": incident_id})
    await _add(conn, incident_id, "status", message, {"from": current.value, "to": target.value, "reason": reason},
               actor)
