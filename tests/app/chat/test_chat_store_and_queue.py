"""Chat runs on the durable queue, on a real Postgres: a run and its work item are written together, a
worker claims it like any item, and a run the queue gives up on is settled with an error its followers see."""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.chat.follow import follow
from app.chat.store import RUN_KIND, ChatStore
from app.incidents.queue import IntakeQueue, QueuePolicy, RunOutcome


async def _thread(store: ChatStore) -> dict[str, Any]:
    row = await store.create_thread(None, "default", {})
    assert row is not None
    return {"thread_id": row["thread_id"], "metadata": {"cluster": row["cluster"]}}


async def test_a_run_is_a_claimable_work_item(db_pool: AsyncConnectionPool[Any]) -> None:
    policy = QueuePolicy(max_attempts=2)
    store, queue = ChatStore(db_pool, policy), IntakeQueue(db_pool, policy)
    run = await store.create_run(await _thread(store), {"input": {"messages": []}})
    claim = await queue.claim("w1")
    assert claim is not None
    assert claim.item.kind == RUN_KIND and claim.item.run_id == str(run["run_id"]) and claim.item.incident_id is None
    assert await queue.finish(claim.item, RunOutcome.done("answered")) == "done"
    assert (await store.run(run["thread_id"], str(run["run_id"])))["status"] == "pending"  # the runner settles it


async def test_a_run_the_queue_gives_up_on_ends_with_an_error_event(db_pool: AsyncConnectionPool[Any],
                                                                     database_url: str) -> None:
    policy = QueuePolicy(max_attempts=1)
    store, queue = ChatStore(db_pool, policy), IntakeQueue(db_pool, policy)
    thread = await _thread(store)
    run = await store.create_run(thread, {"input": {"messages": []}})
    run_id = str(run["run_id"])
    await store.add_events(run_id, 1, [("metadata", "", {"run_id": run_id})])
    claim = await queue.claim("w1")
    assert claim is not None
    assert await queue.finish(claim.item, RunOutcome.retry("model timed out")) == "failed"
    settled = await store.run(thread["thread_id"], run_id)
    assert settled["status"] == "error" and "retry budget of 1 attempts spent" in settled["error"]
    assert (await store.thread(thread["thread_id"]))["status"] == "error"
    events = [e async for e in follow(store, database_url, run_id)]
    assert [e.event for e in events] == ["metadata", "error", "end"]
    assert "model timed out" in events[1].data["message"]
