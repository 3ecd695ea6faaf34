"""The work queue on a real Postgres: claim order, the per-cluster limit, lost workers and their budget.

A lost worker is one whose lease expired; the tests expire a lease by moving `lease_expires_at` into
the past, which is what the clock would do, instead of waiting for it.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from app.incidents.queue import IntakeQueue, QueuePolicy, RunOutcome
from tests.support.verification import seed_incident


async def _enqueue(queue: IntakeQueue, db_pool: AsyncConnectionPool[Any], incident_id: int, *,
                   cluster: str = "default", priority: int = 2) -> int:
    async with db_pool.connection() as conn:
        item = await queue.enqueue(conn, incident_id=incident_id, cluster=cluster, priority=priority)
    assert item is not None
    return item


def _expire_leases(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE work_items SET lease_expires_at = now() - interval '1 second' WHERE status = 'running'")


def _row(database_url: str, sql: str, *params: Any) -> dict[str, Any]:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row


async def test_the_most_urgent_then_the_oldest_item_is_claimed_first(db_pool: AsyncConnectionPool[Any],
                                                                    database_url: str) -> None:
    queue = IntakeQueue(db_pool, QueuePolicy(per_cluster=10))
    old_p2, p1, new_p2, p0 = (seed_incident(database_url) for _ in range(4))
    for incident_id, priority in ((old_p2, 2), (p1, 1), (new_p2, 2), (p0, 0)):
        await _enqueue(queue, db_pool, incident_id, priority=priority)
    order = []
    while (claim := await queue.claim("w")) is not None:
        order.append(claim.item.incident_id)
    assert order == [p0, p1, old_p2, new_p2]


async def test_a_busy_cluster_waits_while_another_cluster_is_served(db_pool: AsyncConnectionPool[Any],
                                                                   database_url: str) -> None:
    queue = IntakeQueue(db_pool, QueuePolicy(per_cluster=1))
    noisy_a, noisy_b = seed_incident(database_url, cluster="noisy"), seed_incident(database_url, cluster="noisy")
    quiet = seed_incident(database_url, cluster="quiet")
    await _enqueue(queue, db_pool, noisy_a, cluster="noisy", priority=0)
    await _enqueue(queue, db_pool, noisy_b, cluster="noisy", priority=0)
    await _enqueue(queue, db_pool, quiet, cluster="quiet", priority=3)
    first, second = await queue.claim("w1"), await queue.claim("w2")
    assert first is not None and second is not None
    # noisy_b is more urgent than quiet, but noisy's one slot is taken.
    assert (first.item.incident_id, second.item.incident_id) == (noisy_a, quiet)
    assert await queue.claim("w3") is None


async def test_a_lost_item_is_claimed_again_and_resumes(db_pool: AsyncConnectionPool[Any], database_url: str) -> None:
    queue = IntakeQueue(db_pool, QueuePolicy(max_attempts=3))
    incident_id = seed_incident(database_url)
    await _enqueue(queue, db_pool, incident_id)
    first = await queue.claim("crashed-worker")
    assert first is not None and not first.resume
    assert await queue.claim("w2") is None  # its lease still holds
    _expire_leases(database_url)
    second = await queue.claim("w2")
    assert second is not None and second.resume and second.item.attempt == 2
    attempts = _row(database_url, "SELECT array_agg(outcome ORDER BY attempt) AS outcomes FROM work_attempts")
    assert attempts["outcomes"] == ["lost", None]


async def test_a_worker_lost_on_every_attempt_fails_the_incident_instead_of_looping(
        db_pool: AsyncConnectionPool[Any], database_url: str) -> None:
    queue = IntakeQueue(db_pool, QueuePolicy(max_attempts=2))
    incident_id = seed_incident(database_url, status="diagnosing")
    item_id = await _enqueue(queue, db_pool, incident_id)
    assert await queue.claim("w1") is not None
    _expire_leases(database_url)
    assert (await queue.claim("w2")) is not None  # attempt 2 of 2
    _expire_leases(database_url)
    assert await queue.claim("w3") is None  # nothing left to try
    item = _row(database_url, "SELECT status, attempts, last_message FROM work_items WHERE id = %s", item_id)
    assert (item["status"], item["attempts"]) == ("failed", 2)
    assert "was lost" in item["last_message"] and "all 2 attempts are spent" in item["last_message"]
    incident = _row(database_url, "SELECT status, status_reason, closed_at FROM incidents WHERE id = %s", incident_id)
    assert incident["status"] == "failed" and incident["closed_at"] is not None
    assert incident["status_reason"] == item["last_message"]
    event = _row(database_url, "SELECT kind FROM incident_events WHERE incident_id = %s ORDER BY id DESC LIMIT 1",
                 incident_id)
    assert event["kind"] == "attempt_lost"
    attempts = _row(database_url, "SELECT array_agg(outcome ORDER BY attempt) AS outcomes FROM work_attempts")
    assert attempts["outcomes"] == ["lost", "lost"]


async def test_an_item_released_at_shutdown_on_its_last_attempt_is_resumed_not_failed(
        db_pool: AsyncConnectionPool[Any], database_url: str) -> None:
    queue = IntakeQueue(db_pool, QueuePolicy(max_attempts=1))
    incident_id = seed_incident(database_url, status="diagnosing")
    item_id = await _enqueue(queue, db_pool, incident_id)
    first = await queue.claim("stopping-replica")
    assert first is not None
    await queue.release(first.item)  # a rolling deploy stops this replica mid-run
    second = await queue.claim("new-replica")
    assert second is not None and second.resume and second.item.attempt == 2
    assert await queue.finish(second.item, RunOutcome.done("diagnosed")) == "done"
    item = _row(database_url, "SELECT status FROM work_items WHERE id = %s", item_id)
    assert item["status"] == "done"
    attempts = _row(database_url, "SELECT array_agg(outcome ORDER BY attempt) AS outcomes FROM work_attempts")
    assert attempts["outcomes"] == ["retry", "done"]


async def test_a_late_heartbeat_keeps_an_item_from_being_given_up(db_pool: AsyncConnectionPool[Any],
                                                                  database_url: str) -> None:
    queue = IntakeQueue(db_pool, QueuePolicy(max_attempts=1))
    incident_id = seed_incident(database_url, status="diagnosing")
    item_id = await _enqueue(queue, db_pool, incident_id)
    claim = await queue.claim("slow-worker")
    assert claim is not None
    _expire_leases(database_url)
    assert await queue.heartbeat(claim.item)  # it was only slow: the lease is renewed before anyone looks
    assert await queue.fail_spent_lost_items() == 0
    assert _row(database_url, "SELECT status FROM work_items WHERE id = %s", item_id)["status"] == "running"


async def test_a_lost_item_past_its_deadline_fails(db_pool: AsyncConnectionPool[Any], database_url: str) -> None:
    queue = IntakeQueue(db_pool, QueuePolicy(max_attempts=5))
    incident_id = seed_incident(database_url, status="diagnosing")
    item_id = await _enqueue(queue, db_pool, incident_id)
    assert await queue.claim("w1") is not None
    _expire_leases(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE work_items SET deadline = now() - interval '1 second' WHERE id = %s", (item_id,))
    assert await queue.claim("w2") is None
    item = _row(database_url, "SELECT status, last_message FROM work_items WHERE id = %s", item_id)
    assert item["status"] == "failed" and "its deadline passed" in item["last_message"]
