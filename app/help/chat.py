"""ChatHelpStore: the questions a chat thread put to a person (graphs/chat.py `ask_person`), and the
replies that carry the thread on.

A question is recorded when the run that asked it ends (`ask`). A reply, from the Slack Reply modal,
`POST /threads/{id}/help` or a `Command(resume=...)` run, is checked and recorded once and queues the
run that resumes the thread, in one transaction. A run that ends waiting on a question settles under the
thread's row lock (`finish_waiting`), and a reply takes the same lock before it looks for a live run,
so a reply that lands while a run is still going is carried on by that run and never lost.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from agents.chat.help import HelpTimeout
from agents.human_help import HelpReply, reply_problem
from app.approvals.store import DecisionRefused
from app.chat.store import ChatStore
from app.help.store import THREAD_STILL_ASKS

INSERT_REQUEST = """
INSERT INTO help_requests (request_id, thread_id, request) VALUES (%s, %s, %s)
ON CONFLICT (request_id) DO NOTHING RETURNING request_id"""
LATEST = f"""
SELECT h.request_id, h.thread_id, h.request, h.asked_at, h.reminded_at, h.timed_out_at, h.reply, h.replied_by,
       h.replied_at, {THREAD_STILL_ASKS} AS still_asked
FROM help_requests h WHERE h.thread_id = %s ORDER BY h.asked_at DESC, h.request_id DESC LIMIT 1"""
LOCK_REQUEST = f"""
SELECT h.request_id, h.request, h.reply, h.replied_by, h.replied_at, {THREAD_STILL_ASKS} AS still_asked
FROM help_requests h WHERE h.request_id = %s AND h.thread_id = %s FOR UPDATE"""
RECORD_REPLY = """
UPDATE help_requests SET reply = %s, replied_by = %s, replied_at = %s WHERE request_id = %s AND reply IS NULL"""
LOCK_THREAD = "SELECT thread_id, cluster, status FROM chat_threads WHERE thread_id = %s FOR UPDATE"
LIVE_RUN = "SELECT run_id FROM chat_runs WHERE thread_id = %s AND status IN ('pending', 'running')"
REPLY_OF = "SELECT reply FROM help_requests WHERE request_id = %s AND thread_id = %s"


class ThreadNotFound(DecisionRefused):
    def __init__(self, thread_id: str) -> None:
        super().__init__(404, f"thread {thread_id[:100]} not found")


class ChatHelpStore:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]], chat: ChatStore) -> None:
        self.pool = pool
        self.chat = chat

    async def ask(self, thread_id: str, request: dict[str, Any]) -> bool:
        """Record the question the thread's run ended on; False when it was recorded before (asked again
        after a timeout, or a re-run)."""
        async with self.pool.connection() as conn:
            row = await (await conn.execute(INSERT_REQUEST, (request["request_id"], thread_id,
                                                             Jsonb(request)))).fetchone()
        return row is not None

    async def latest(self, thread_id: str) -> dict[str, Any] | None:
        """The thread's last question with its reply (if any); None when it never asked; ThreadNotFound."""
        async with self.pool.connection() as conn:
            if await (await conn.execute("SELECT 1 FROM chat_threads WHERE thread_id = %s",
                                         (thread_id,))).fetchone() is None:
                raise ThreadNotFound(thread_id)
            row = await (await conn.execute(LATEST, (thread_id,))).fetchone()
        return dict(row) if row else None

    async def reply(self, thread_id: str, reply: HelpReply, *, stream_mode: list[str] | None = None,
                    metadata: dict[str, Any] | None = None, require_run: bool = False) -> dict[str, Any]:
        """Record the answer to the thread's open question once and queue the run that resumes the thread
        with it (unless a run is live: that run carries the reply on when it ends; with `require_run`, the
        reply is refused instead). DecisionRefused otherwise. Returns the recorded reply with the queued run
        (None when a live run takes it)."""
        async with self.pool.connection() as conn, conn.transaction():
            # The question row first, then the thread: the same order as the sweep's timeout.
            row = await (await conn.execute(LOCK_REQUEST, (reply.request_id, thread_id))).fetchone()
            if row is None:
                if await (await conn.execute("SELECT 1 FROM chat_threads WHERE thread_id = %s",
                                             (thread_id,))).fetchone() is None:
                    raise ThreadNotFound(thread_id)
                raise DecisionRefused(409, f"thread {thread_id} has no question {reply.request_id!r}")
            if row["reply"] is not None:
                raise DecisionRefused(409, f"already answered by {row['replied_by']} at {row['replied_at'].isoformat()}")
            latest = await (await conn.execute(LATEST, (thread_id,))).fetchone()
            if latest is not None and latest["request_id"] != reply.request_id:
                raise DecisionRefused(409, f"question {reply.request_id} was superseded by {latest['request_id']}")
            if not row["still_asked"]:
                raise DecisionRefused(409, f"thread {thread_id} moved on with a new turn: question "
                                           f"{reply.request_id} is closed")
            problem = reply_problem(reply, row["request"])
            if problem is not None:
                raise DecisionRefused(422, problem)
            await conn.execute(RECORD_REPLY, (Jsonb(reply.model_dump(mode="json")), reply.responder, reply.at,
                                              reply.request_id))
            run = await self._resume_in(conn, thread_id, {
                "command": {"resume": reply.model_dump(mode="json")}, "stream_mode": stream_mode or ["values"],
                "metadata": {**(metadata or {}), "help_request": reply.request_id, "responder": reply.responder}})
            if run is None and require_run:  # raised inside the transaction: the reply is not recorded either
                raise DecisionRefused(409, f"thread {thread_id} already has a run in flight; join it, then answer")
        return {"thread_id": thread_id, "request_id": reply.request_id, "action": reply.action,
                "responder": reply.responder, "run": run}

    async def resume_timed_out(self, conn: AsyncConnection[dict[str, Any]], thread_id: str, request_id: str) -> None:
        """The sweep's hook (`HelpStore.time_out_due`): a run that tells the chat user nobody answered yet;
        the graph asks the same question again, so a late reply still comes through."""
        await self._resume_in(conn, thread_id, {
            "command": {"resume": HelpTimeout(request_id=request_id).model_dump(mode="json")},
            "stream_mode": ["values"], "metadata": {"help_request": request_id, "timed_out": True}})

    async def finish_waiting(self, run_id: str, thread_id: str, request_id: str) -> HelpReply | None:
        """End a run that waits on `request_id`, unless its reply is already recorded: then that reply is
        returned and the run goes on with it (the reply found this run live and queued nothing)."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(LOCK_THREAD, (thread_id,))
            row = await (await conn.execute(REPLY_OF, (request_id, thread_id))).fetchone()
            if row is not None and row["reply"] is not None:
                return HelpReply.model_validate(row["reply"])
            await self.chat.finish_run_in(conn, run_id, "success", thread_status="interrupted")
        return None

    async def reply_for(self, thread_id: str, request_id: str) -> HelpReply | None:
        async with self.pool.connection() as conn:
            row = await (await conn.execute(REPLY_OF, (request_id, thread_id))).fetchone()
        return HelpReply.model_validate(row["reply"]) if row and row["reply"] else None

    async def _resume_in(self, conn: AsyncConnection[dict[str, Any]], thread_id: str,
                         request: dict[str, Any]) -> dict[str, Any] | None:
        """Queue a resume run in the caller's transaction, under the thread's lock; None when a run is live."""
        thread = await (await conn.execute(LOCK_THREAD, (thread_id,))).fetchone()
        if thread is None or await (await conn.execute(LIVE_RUN, (thread_id,))).fetchone() is not None:
            return None
        try:
            async with conn.transaction():  # a savepoint: a turn that slipped in first keeps the reply recorded
                return await self.chat.create_run_in(conn, thread_id, thread["cluster"], request)
        except UniqueViolation:
            return None
