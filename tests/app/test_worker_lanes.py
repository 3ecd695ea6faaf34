"""Verification watches run in their own lane: a cluster's diagnosis never waits behind them.

A `verify` item holds its worker for the whole verification window (minutes of sleeping between
looks). Here watches block until the test releases them, with one incident worker, one cluster
and a per-cluster limit of 1: diagnosis must still run, and two watches on that cluster must run
side by side.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.dispatch import KindRouter
from app.incidents.queue import IntakeQueue, QueuePolicy, RunOutcome, WorkItem
from app.workers import WorkerPool
from tests.support.verification import seed_incident


class BlockingWatch:
    """A verification that watches until released, like one sleeping out its window."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.release = asyncio.Event()

    async def run(self, item: WorkItem, *, resume: bool) -> RunOutcome:
        self.started.append(item.incident_id)
        await self.release.wait()
        return RunOutcome.done("watched")


class Diagnose:
    def __init__(self) -> None:
        self.ran: list[int] = []

    async def run(self, item: WorkItem, *, resume: bool) -> RunOutcome:
        self.ran.append(item.incident_id)
        return RunOutcome.done("diagnosed")


async def _statuses(pool: AsyncConnectionPool[Any]) -> dict[tuple[int, str], str]:
    async with pool.connection() as conn:
        rows = await (await conn.execute("SELECT incident_id, kind, status FROM work_items")).fetchall()
    return {(r["incident_id"], r["kind"]): r["status"] for r in rows}


async def _until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not await condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)  # polling a condition with a deadline


async def test_diagnosis_runs_while_verifications_watch_the_same_cluster(db_pool: AsyncConnectionPool[Any],
                                                                         database_url: str) -> None:
    watched_a, watched_b, broken = (seed_incident(database_url) for _ in range(3))
    queue = IntakeQueue(db_pool, QueuePolicy(lease_seconds=30, per_cluster=1))
    async with db_pool.connection() as conn:
        # The watches are queued first and are more urgent: a shared lane would hand them out first.
        await queue.enqueue(conn, incident_id=watched_a, cluster="default", priority=0, kind="verify")
        await queue.enqueue(conn, incident_id=watched_b, cluster="default", priority=0, kind="verify")
        await queue.enqueue(conn, incident_id=broken, cluster="default", priority=3)
    watch, diagnose = BlockingWatch(), Diagnose()
    workers = WorkerPool(queue, KindRouter({"verify": watch}, default=diagnose), database_url=database_url,
                         workers=1, verify_workers=2, poll_seconds=0.2)
    await workers.start()
    try:
        async def diagnosed_while_both_watch() -> bool:
            statuses = await _statuses(db_pool)
            return (statuses[(broken, "diagnose")] == "done"
                    and statuses[(watched_a, "verify")] == statuses[(watched_b, "verify")] == "running")
        await _until(diagnosed_while_both_watch, "diagnosis waited behind the verifications")
        assert sorted(watch.started) == sorted([watched_a, watched_b])  # two watches, one cluster, limit 1
        assert diagnose.ran == [broken]
        watch.release.set()

        async def all_done() -> bool:
            return set((await _statuses(db_pool)).values()) == {"done"}
        await _until(all_done, "the watches did not finish once released")
    finally:
        watch.release.set()
        await workers.stop()


async def test_each_lane_claims_only_its_own_kinds(db_pool: AsyncConnectionPool[Any], database_url: str) -> None:
    watched, broken = seed_incident(database_url), seed_incident(database_url)
    queue = IntakeQueue(db_pool, QueuePolicy(per_cluster=1))
    async with db_pool.connection() as conn:
        await queue.enqueue(conn, incident_id=watched, cluster="default", priority=0, kind="verify")
        await queue.enqueue(conn, incident_id=broken, cluster="default", priority=2)
    first = await queue.claim("incident-worker")
    assert first is not None and (first.item.kind, first.item.incident_id) == ("diagnose", broken)
    assert await queue.claim("incident-worker-2") is None  # the cluster's one incident slot is taken
    watch = await queue.claim("watcher", "watch")
    assert watch is not None and (watch.item.kind, watch.item.incident_id) == ("verify", watched)
    assert await queue.claim("watcher-2", "watch") is None
