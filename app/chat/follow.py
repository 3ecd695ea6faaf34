"""Follow a run's events from Postgres: replay what is stored, then wait for NOTIFY (or a short poll,
for a lost notification) until the run's `end` event. SSE frames are built here."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterable

from psycopg import AsyncConnection

from app.chat.store import RUN_EVENTS_CHANNEL, ChatStore, RunEvent

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
ALWAYS = frozenset({"metadata", "error", "end"})
# The stream modes served, and the recorded event each one reads.
MODE_EVENTS = {"values": "values", "updates": "updates", "messages-tuple": "messages", "custom": "custom"}


def wanted_events(modes: Iterable[str] | None) -> frozenset[str]:
    """The recorded event names a follower asked for (all of them when it named no mode)."""
    if not modes:
        return frozenset(MODE_EVENTS.values()) | ALWAYS
    return frozenset(MODE_EVENTS[m] for m in modes if m in MODE_EVENTS) | ALWAYS


async def follow(store: ChatStore, database_url: str, run_id: str, *, after: int = 0) -> AsyncIterator[RunEvent | None]:
    """Every event after `after`, in order, ending with `end`; None now and then while nothing happens
    (the caller sends a keep-alive comment)."""
    conn: AsyncConnection | None = None
    try:
        try:
            conn = await AsyncConnection.connect(database_url, autocommit=True)
            await conn.execute(f"LISTEN {RUN_EVENTS_CHANNEL}")
        except Exception as exc:  # polling still follows the run, only more slowly
            log.warning("run %s: no event notifications (%s); polling", run_id, exc)
            conn = None
        idle = 0.0
        while True:
            batch = await store.events(run_id, after)
            for event in batch:
                after = event.seq
                yield event
                if event.event == "end":
                    return
            if batch:
                idle = 0.0
                continue
            await _wait(conn, run_id)
            idle += POLL_SECONDS
            if idle >= KEEPALIVE_SECONDS:
                idle = 0.0
                yield None
    finally:
        if conn is not None:
            await conn.close()


async def _wait(conn: AsyncConnection | None, run_id: str) -> None:
    if conn is None:
        await asyncio.sleep(POLL_SECONDS)
        return
    async for note in conn.notifies(timeout=POLL_SECONDS):
        if note.payload == run_id:
            return


def sse_frame(event: RunEvent, *, subgraphs: bool) -> bytes | None:
    """One SSE frame in the server's naming (`values`, or `values|ns` for a subgraph), or None when the
    follower did not ask for subgraph chunks. Tokens (`messages`) and agent steps (`custom`) come from
    every level: they are what a person watches, wherever the agent runs."""
    name = event.event
    if event.ns and name in ("values", "updates"):
        if not subgraphs:
            return None
        name = f"{name}|{event.ns}"
    data = json.dumps(event.data, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event.seq}\nevent: {name}\ndata: {data}\n\n".encode()
