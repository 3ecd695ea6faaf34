"""ChatStore: chat threads, their runs (work items on the durable queue) and the events a run streamed.

A run is written in one transaction with its work item, so an accepted turn is never lost between
the API and the workers; its events are rows, so a stream that drops is replayed from Postgres.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from app.incidents.queue import NOTIFY_CHANNEL, QueuePolicy

RUN_EVENTS_CHANNEL = "opsgraph_run_events"  # also spelled in settle_chat_run (migration 0010)
RUN_KIND = "chat_run"
RUN_PRIORITY = 1  # a person is waiting on the answer: ahead of P2/P3 alerts, behind P0/P1
TERMINAL = frozenset({"success", "error", "interrupted"})

INSERT_THREAD = """
INSERT INTO chat_threads (thread_id, cluster, metadata) VALUES (%(thread_id)s, %(cluster)s, %(metadata)s)
ON CONFLICT (thread_id) DO NOTHING
RETURNING thread_id, cluster, metadata, status, created_at, updated_at"""
SELECT_THREAD = """
SELECT thread_id, cluster, metadata, status, created_at, updated_at FROM chat_threads WHERE thread_id = %s"""
SEARCH_THREADS = """
SELECT thread_id, cluster, metadata, status, created_at, updated_at FROM chat_threads
WHERE metadata @> %(metadata)s AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY updated_at DESC, thread_id LIMIT %(limit)s OFFSET %(offset)s"""
INSERT_RUN = """
INSERT INTO chat_runs (run_id, thread_id, request) VALUES (%(run_id)s, %(thread_id)s, %(request)s)
RETURNING run_id, thread_id, status, request, error, created_at, updated_at"""
INSERT_RUN_ITEM = """
INSERT INTO work_items (run_id, kind, cluster, priority, max_attempts, deadline)
VALUES (%(run_id)s, %(kind)s, %(cluster)s, %(priority)s, %(max_attempts)s,
        now() + make_interval(secs => %(deadline_seconds)s))"""
MARK_THREAD = "UPDATE chat_threads SET status = %s, updated_at = now() WHERE thread_id = %s"
SELECT_RUN = """
SELECT run_id, thread_id, status, request, error, created_at, updated_at FROM chat_runs
WHERE run_id = %s AND thread_id = %s"""
SELECT_RUN_BY_ID = """
SELECT r.run_id, r.thread_id, r.status, r.request, r.error, r.created_at, r.updated_at, t.cluster
FROM chat_runs r JOIN chat_threads t USING (thread_id) WHERE r.run_id = %s"""
SELECT_RUNS = """
SELECT run_id, thread_id, status, request, error, created_at, updated_at FROM chat_runs
WHERE thread_id = %s ORDER BY created_at DESC LIMIT %s"""
START_RUN = "UPDATE chat_runs SET status = 'running', updated_at = now() WHERE run_id = %s AND status = 'pending'"
FINISH_RUN = """
UPDATE chat_runs SET status = %(status)s, error = %(error)s, updated_at = now()
WHERE run_id = %(run_id)s AND status IN ('pending', 'running')
RETURNING thread_id"""
CANCEL_RUN = """
UPDATE work_items SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
       last_message = %(message)s
WHERE run_id = %(run_id)s AND status IN ('queued', 'running')"""
LAST_SEQ = "SELECT coalesce(max(seq), 0) AS seq FROM chat_run_events WHERE run_id = %s"
# A run cancelled (or given up) while its worker still streams gets its `error`/`end` from migration
# 0010's trigger; the worker's events that collide with those, or come after them, are not wanted.
INSERT_EVENT = """
INSERT INTO chat_run_events (run_id, seq, event, ns, data) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (run_id, seq) DO NOTHING"""
SELECT_EVENTS = """
SELECT seq, event, ns, data FROM chat_run_events WHERE run_id = %s AND seq > %s ORDER BY seq LIMIT %s"""


class RunConflict(Exception):
    """The thread already has a run in flight; a second turn is refused, not interleaved."""


@dataclass(frozen=True)
class RunEvent:
    seq: int
    event: str  # metadata, values, updates, messages, custom, error, end
    ns: str  # subgraph namespace ('' for the root graph)
    data: Any


class ChatStore:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]], policy: QueuePolicy) -> None:
        self.pool = pool
        self.policy = policy

    async def create_thread(self, thread_id: str | None, cluster: str, metadata: dict[str, Any]) -> dict[str, Any] | None:
        """The new thread, or None when the id is taken."""
        async with self.pool.connection() as conn:
            return await (await conn.execute(INSERT_THREAD, {
                "thread_id": thread_id or str(uuid.uuid4()), "cluster": cluster, "metadata": Jsonb(metadata),
            })).fetchone()

    async def thread(self, thread_id: str) -> dict[str, Any] | None:
        async with self.pool.connection() as conn:
            return await (await conn.execute(SELECT_THREAD, (thread_id,))).fetchone()

    async def search_threads(self, metadata: dict[str, Any], status: str | None, limit: int,
                             offset: int) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            return await (await conn.execute(SEARCH_THREADS, {"metadata": Jsonb(metadata), "status": status,
                                                              "limit": limit, "offset": offset})).fetchall()

    async def create_run(self, thread: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        """`thread` as the API shows it (its cluster in metadata). Record the run and queue it in one transaction; workers are woken when it commits."""
        try:
            async with self.pool.connection() as conn, conn.transaction():
                return await self.create_run_in(conn, thread["thread_id"], thread["metadata"]["cluster"], request)
        except UniqueViolation:
            raise RunConflict(f"thread {thread['thread_id']} already has a run in flight; join it or cancel it "
                              "before sending another turn") from None

    async def create_run_in(self, conn: AsyncConnection[dict[str, Any]], thread_id: str, cluster: str,
                            request: dict[str, Any]) -> dict[str, Any]:
        """The same, inside the caller's transaction (a person's reply queues the run that carries it on)."""
        run_id = uuid.uuid4()
        run = await (await conn.execute(INSERT_RUN, {
            "run_id": run_id, "thread_id": thread_id, "request": Jsonb(request),
        })).fetchone()
        await conn.execute(INSERT_RUN_ITEM, {
            "run_id": run_id, "kind": RUN_KIND, "cluster": cluster, "priority": RUN_PRIORITY,
            "max_attempts": self.policy.max_attempts, "deadline_seconds": self.policy.deadline_seconds,
        })
        await conn.execute(MARK_THREAD, ("busy", thread_id))
        await conn.execute("SELECT pg_notify(%s, '')", (NOTIFY_CHANNEL,))
        assert run is not None
        return run

    async def run(self, thread_id: str, run_id: str) -> dict[str, Any] | None:
        if not _is_uuid(run_id):
            return None
        async with self.pool.connection() as conn:
            return await (await conn.execute(SELECT_RUN, (run_id, thread_id))).fetchone()

    async def run_by_id(self, run_id: str) -> dict[str, Any] | None:
        """The run with its thread's cluster (what a worker needs)."""
        async with self.pool.connection() as conn:
            return await (await conn.execute(SELECT_RUN_BY_ID, (run_id,))).fetchone()

    async def runs(self, thread_id: str, limit: int = 10) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            return await (await conn.execute(SELECT_RUNS, (thread_id, limit))).fetchall()

    async def start_run(self, run_id: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(START_RUN, (run_id,))

    async def finish_run(self, run_id: str, status: str, *, error: str | None = None,
                         thread_status: str = "idle") -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await self.finish_run_in(conn, run_id, status, error=error, thread_status=thread_status)

    async def finish_run_in(self, conn: AsyncConnection[dict[str, Any]], run_id: str, status: str, *,
                            error: str | None = None, thread_status: str = "idle") -> None:
        row = await (await conn.execute(FINISH_RUN, {"status": status, "error": error, "run_id": run_id})).fetchone()
        if row is not None:
            await conn.execute(MARK_THREAD, (thread_status, row["thread_id"]))

    async def cancel_run(self, run_id: str, why: str) -> None:
        """Cancel its work item; migration 0010's trigger settles the run and tells its followers, and a
        running worker stops at its next heartbeat."""
        async with self.pool.connection() as conn:
            await conn.execute(CANCEL_RUN, {"run_id": run_id, "message": why})

    async def last_seq(self, run_id: str) -> int:
        async with self.pool.connection() as conn:
            row = await (await conn.execute(LAST_SEQ, (run_id,))).fetchone()
        return int(row["seq"]) if row else 0

    async def add_events(self, run_id: str, first_seq: int, events: list[tuple[str, str, Any]]) -> None:
        """Append (event, ns, data) rows from `first_seq` on and wake the run's followers."""
        if not events:
            return
        async with self.pool.connection() as conn, conn.transaction():
            async with conn.cursor() as cur:
                await cur.executemany(INSERT_EVENT, [(run_id, first_seq + n, event, ns, Jsonb(data))
                                                     for n, (event, ns, data) in enumerate(events)])
            await conn.execute("SELECT pg_notify(%s, %s)", (RUN_EVENTS_CHANNEL, run_id))

    async def events(self, run_id: str, after: int, limit: int = 500) -> list[RunEvent]:
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(SELECT_EVENTS, (run_id, after, limit))).fetchall()
        return [RunEvent(r["seq"], r["event"], r["ns"], r["data"]) for r in rows]


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
