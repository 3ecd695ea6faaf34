"""KindRouter hands each claimed work item to the runner of its kind; the worker pool needs nothing else."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.dispatch import KindRouter
from app.incidents.queue import IntakeQueue, QueuePolicy, RunOutcome, WorkItem
from app.workers import WorkerPool
from tests.support.verification import seed_incident


class Recording:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[tuple[str, int]] = []

    async def run(self, item: WorkItem, *, resume: bool) -> RunOutcome:
        self.seen.append((item.kind, item.incident_id))
        return RunOutcome.done(f"{self.name} ran {item.kind}")


async def _items(pool: AsyncConnectionPool[Any]) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        return await (await conn.execute(
            "SELECT incident_id, kind, status, last_message FROM work_items ORDER BY id")).fetchall()


async def test_worker_pool_dispatches_verify_and_diagnose_to_their_runners(db_pool: AsyncConnectionPool[Any],
                                                                           database_url: str) -> None:
    first, second, third = (seed_incident(database_url) for _ in range(3))
    queue = IntakeQueue(db_pool, QueuePolicy(lease_seconds=30))
    async with db_pool.connection() as conn, conn.transaction():
        await queue.enqueue(conn, incident_id=first, cluster="default", priority=2)  # kind diagnose
        await queue.enqueue(conn, incident_id=second, cluster="default", priority=2, kind="verify")
        await queue.enqueue(conn, incident_id=third, cluster="default", priority=2, kind="rollback")
    verify, graph = Recording("verifier"), Recording("graph")
    workers = WorkerPool(queue, KindRouter({"verify": verify}, default=graph), database_url=database_url, workers=2,
                         poll_seconds=0.2)
    await workers.start()
    try:
        deadline = time.monotonic() + 30
        while any(i["status"] in ("queued", "running") for i in await _items(db_pool)):
            assert time.monotonic() < deadline, "work items were not all run"
            await asyncio.sleep(0.05)  # polling a condition with a deadline
    finally:
        await workers.stop()
    assert verify.seen == [("verify", second)]
    assert sorted(graph.seen) == sorted([("diagnose", first), ("rollback", third)])
    assert {(i["kind"], i["status"], i["last_message"]) for i in await _items(db_pool)} == {
        ("diagnose", "done", f"diagnose for incident {first} done: graph ran diagnose"),
        ("verify", "done", f"verify for incident {second} done: verifier ran verify"),
        ("rollback", "done", f"rollback for incident {third} done: graph ran rollback"),
    }


async def test_a_kind_nobody_runs_fails_with_a_reason() -> None:
    item = WorkItem(1, 7, "rollback", "default", 2, 1, 5, None, "w")  # type: ignore[arg-type]
    outcome = await KindRouter({"verify": Recording("verifier")}).run(item, resume=False)
    assert outcome == RunOutcome.failed("no runner for work of kind 'rollback' (kinds: verify)")
