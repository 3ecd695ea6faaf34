"""HelpStore: the questions the HumanHelp subgraph put to a person, their replies, reminders and timeouts.

A question is written when the graph pauses on it (the runner calls `ask`); a reply is checked and
recorded once, with the incident row locked, and queues the `resume` work item in the same transaction,
exactly like an approval decision. Reminders and timeouts are single idempotent statements any replica
may run (`HelpSweep`); they cover a chat thread's questions too (migration 0012), which are asked and
answered through `app.help.chat.ChatHelpStore`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from agents.human_help import HelpReply, reply_problem
from app.approvals.store import DecisionRefused
from app.incidents.errors import IncidentNotFound
from app.incidents.queue import IntakeQueue
from app.incidents.status import TERMINAL, IncidentStatus

ACTOR = "opsgraph"
INSERT_REQUEST = """
INSERT INTO help_requests (request_id, incident_id, request) VALUES (%s, %s, %s)
ON CONFLICT (request_id) DO NOTHING RETURNING request_id"""
OPEN_REQUEST = """
SELECT request_id, request, asked_at, reminded_at, timed_out_at, reply, replied_by, replied_at
FROM help_requests WHERE incident_id = %s ORDER BY asked_at DESC, request_id DESC LIMIT 1"""
LOCK_INCIDENT = "SELECT status, cluster, priority FROM incidents WHERE id = %s FOR UPDATE"
SELECT_REQUEST = "SELECT request, reply, replied_by, replied_at FROM help_requests WHERE request_id = %s AND incident_id = %s"
RECORD_REPLY = """
UPDATE help_requests SET reply = %s, replied_by = %s, replied_at = %s WHERE request_id = %s AND reply IS NULL
RETURNING request_id"""
ADD_EVENT = """
INSERT INTO incident_events (incident_id, kind, actor, message, data) VALUES (%s, 'help', %s, %s, %s)"""
# A chat thread's question is still asked while the thread's user has sent no new turn since (a new turn
# moves the thread on: the graph no longer waits on it). `h` is the help_requests row.
THREAD_STILL_ASKS = """NOT EXISTS (SELECT 1 FROM chat_runs r WHERE r.thread_id = h.thread_id
                                  AND r.created_at > h.asked_at AND r.request ? 'input')"""


@dataclass(frozen=True)
class DueRequest:
    """A question the sweep reminded or timed out: an incident's or a chat thread's."""

    request_id: str
    incident_id: int | None
    thread_id: str | None


# What the sweep does for a chat thread whose question timed out, inside the transaction that marked it:
# (connection, thread id, request id) → tell the chat user (app.help.chat.ChatHelpStore.resume_timed_out).
ThreadTimeout = Callable[[AsyncConnection[dict[str, Any]], str, str], Awaitable[None]]


def _mark_due(column: str, event: str, flag: str, status_reason: str) -> str:
    """One statement for a question unanswered past `%(after)s` seconds: set `column` once; for an incident,
    say `event` on the timeline and change its status_reason (which refreshes its card: migration 0009); a
    chat thread's question refreshes its own card (migration 0012)."""
    return f"""
WITH due AS (
    UPDATE help_requests h SET {column} = now()
    WHERE reply IS NULL AND {column} IS NULL AND asked_at < now() - make_interval(secs => %(after)s)
      AND (EXISTS (SELECT 1 FROM incidents i WHERE i.id = h.incident_id AND i.closed_at IS NULL)
           OR (h.thread_id IS NOT NULL AND {THREAD_STILL_ASKS}))
    RETURNING request_id, incident_id, thread_id, request->>'reason' AS reason
), logged AS (
    INSERT INTO incident_events (incident_id, kind, actor, message, data)
    SELECT incident_id, 'help', %(actor)s, '{event} (' || reason || ')',
           jsonb_build_object('request_id', request_id, '{flag}', true)
    FROM due WHERE incident_id IS NOT NULL
), touched AS (
    UPDATE incidents i SET status_reason = '{status_reason}' || due.reason, updated_at = now()
    FROM due WHERE i.id = due.incident_id
)
SELECT request_id, incident_id, thread_id FROM due ORDER BY incident_id, thread_id"""


# A reminder once per question, after `reminder` seconds without a reply.
REMIND_DUE = _mark_due("reminded_at", "reminder: still waiting for a person", "reminder", "reminded: ")
# A timeout ends the wait, not the incident: it stays awaiting_human (needs a person) with its question,
# diagnosis and checkpoint intact, and a late reply still resumes it.
TIME_OUT_DUE = _mark_due("timed_out_at", "no reply in time: needs a person", "timed_out",
                         "needs_human: no reply in time: ")


class HelpStore:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]], queue: IntakeQueue) -> None:
        self.pool = pool
        self.queue = queue

    async def ask(self, incident_id: int, request: dict[str, Any]) -> bool:
        """Record the question the graph paused on; False when it was recorded before (a re-run)."""
        async with self.pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(INSERT_REQUEST, (request["request_id"], incident_id,
                                                             Jsonb(request)))).fetchone()
            if row is not None:
                await conn.execute(ADD_EVENT, (incident_id, ACTOR, f"asking a person: {request['reason']}",
                                               Jsonb({"request_id": request["request_id"],
                                                      "actions": request.get("actions", [])})))
        return row is not None

    async def latest(self, incident_id: int) -> dict[str, Any] | None:
        """The incident's last question with its reply (if any), or None when none was ever asked."""
        async with self.pool.connection() as conn:
            if await (await conn.execute("SELECT 1 FROM incidents WHERE id = %s", (incident_id,))).fetchone() is None:
                raise IncidentNotFound(incident_id)
            row = await (await conn.execute(OPEN_REQUEST, (incident_id,))).fetchone()
        return dict(row) if row else None

    async def reply(self, incident_id: int, reply: HelpReply) -> dict[str, Any]:
        """Record the answer to the open question once and queue the resume; DecisionRefused otherwise."""
        async with self.pool.connection() as conn, conn.transaction():
            incident = await (await conn.execute(LOCK_INCIDENT, (incident_id,))).fetchone()
            if incident is None:
                raise IncidentNotFound(incident_id)
            row = await (await conn.execute(SELECT_REQUEST, (reply.request_id, incident_id))).fetchone()
            if row is None:
                raise DecisionRefused(409, f"incident {incident_id} has no question {reply.request_id!r}")
            if row["reply"] is not None:
                raise DecisionRefused(409, f"already answered by {row['replied_by']} at {row['replied_at'].isoformat()}")
            if incident["status"] in TERMINAL:
                raise DecisionRefused(409, f"incident {incident_id} is {incident['status']}: nothing waits for a reply")
            if incident["status"] not in (IncidentStatus.AWAITING_HUMAN, IncidentStatus.REOPENED):
                raise DecisionRefused(409, f"incident {incident_id} is not waiting for a person "
                                           f"(status: {incident['status']})")
            latest = await (await conn.execute(OPEN_REQUEST, (incident_id,))).fetchone()
            if latest is not None and latest["request_id"] != reply.request_id:
                raise DecisionRefused(409, f"question {reply.request_id} was superseded by {latest['request_id']}")
            problem = reply_problem(reply, row["request"])
            if problem is not None:
                raise DecisionRefused(422, problem)
            await conn.execute(RECORD_REPLY, (Jsonb(reply.model_dump(mode="json")), reply.responder, reply.at,
                                              reply.request_id))
            await conn.execute(ADD_EVENT, (incident_id, reply.responder,
                                           f"reply from {reply.responder} ({reply.action}): {reply.text}",
                                           Jsonb({"request_id": reply.request_id, "action": reply.action})))
            await self.queue.enqueue(conn, incident_id=incident_id, cluster=incident["cluster"],
                                     priority=incident["priority"], kind="resume")
        return {"incident_id": incident_id, "request_id": reply.request_id, "action": reply.action,
                "responder": reply.responder}

    async def reply_for(self, request_id: str) -> HelpReply | None:
        async with self.pool.connection() as conn:
            row = await (await conn.execute("SELECT reply FROM help_requests WHERE request_id = %s",
                                            (request_id,))).fetchone()
        return HelpReply.model_validate(row["reply"]) if row and row["reply"] else None

    async def remind_due(self, after_seconds: float) -> list[DueRequest]:
        async with self.pool.connection() as conn, conn.transaction():
            rows = await (await conn.execute(REMIND_DUE, {"after": after_seconds, "actor": ACTOR})).fetchall()
        return [DueRequest(**r) for r in rows]

    async def time_out_due(self, after_seconds: float, on_thread: ThreadTimeout | None = None) -> list[DueRequest]:
        """Mark the questions that waited too long; a chat thread's is handed to `on_thread` in the same
        transaction, so a timeout is never marked without its chat user being told."""
        async with self.pool.connection() as conn, conn.transaction():
            rows = await (await conn.execute(TIME_OUT_DUE, {"after": after_seconds, "actor": ACTOR})).fetchall()
            for row in rows:
                if row["thread_id"] is not None and on_thread is not None:
                    await on_thread(conn, row["thread_id"], row["request_id"])
        return [DueRequest(**r) for r in rows]
