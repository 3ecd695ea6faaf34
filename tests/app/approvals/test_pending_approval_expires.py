"""A pending approval that nobody answers in time is handed to a person by the sweep, not only when
someone decides late; the sweep is one idempotent statement any replica may run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.approvals.store import ApprovalStore
from app.approvals.sweep import ApprovalSweep
from app.db.pool import connection_kwargs
from app.incidents.queue import IntakeQueue, QueuePolicy
from tests.support.approval_flow import Flow, decide

EXPIRED = "approval request expired at "


async def test_sweep_hands_an_expired_request_to_a_person_and_a_late_decision_is_refused(
        flow: Callable[..., Flow]) -> None:
    # The request expires as soon as it is asked; the periodic sweep is off, the test runs one pass itself.
    run = flow(approval_ttl_seconds=0.001, approval_sweep_seconds=0)
    url = run.settings.database_url.get_secret_value()  # type: ignore[union-attr]
    async with run.service() as client, AsyncConnectionPool(url, kwargs=connection_kwargs(False), open=False) as pool:
        incident = await run.alert(client)
        assert incident["status"] == "awaiting_approval"  # nothing noticed the expiry yet
        pending = (await client.get(f"/incidents/{incident['id']}/approval")).json()
        sweep = ApprovalSweep(ApprovalStore(pool, IntakeQueue(pool, QueuePolicy())), interval_seconds=0)

        first, second = await asyncio.gather(sweep.sweep(), sweep.sweep())  # two replicas at once
        assert sorted([*first, *second]) == [incident["id"]]
        assert await sweep.sweep() == []

        after = (await client.get(f"/incidents/{incident['id']}")).json()
        assert after["status"] == "awaiting_human"
        assert after["status_reason"] == f"{EXPIRED}{pending['expires_at']}; a person must look again"
        entries = [e for e in after["timeline"] if (e["message"] or "").startswith(EXPIRED)]
        assert len(entries) == 1 and entries[0]["data"]["to"] == "awaiting_human"

        late = await decide_with(client, incident["id"], pending)
        assert late.status_code == 409 and "no change awaiting approval" in late.json()["detail"]
        assert (await client.get(f"/incidents/{incident['id']}/approval")).status_code == 409
    assert run.remote_branches() == ["main"] and run.github.posted_pulls() == []


async def test_a_late_decision_without_the_sweep_is_refused_as_expired_and_the_expiry_is_kept(
        flow: Callable[..., Flow]) -> None:
    run = flow(approval_ttl_seconds=0.001, approval_sweep_seconds=0)
    async with run.service() as client:
        incident = await run.alert(client)
        answer = await decide(client, incident["id"], "approve")
        assert answer.status_code == 409 and EXPIRED in answer.json()["detail"]
        after = (await client.get(f"/incidents/{incident['id']}")).json()
    # The refusal does not roll the expiry back: the incident waits for a person.
    assert after["status"] == "awaiting_human" and after["status_reason"].startswith(EXPIRED)
    assert run.github.posted_pulls() == []


async def test_a_request_not_yet_expired_is_left_alone(flow: Callable[..., Flow]) -> None:
    run = flow(approval_sweep_seconds=0)
    url = run.settings.database_url.get_secret_value()  # type: ignore[union-attr]
    async with run.service() as client, AsyncConnectionPool(url, kwargs=connection_kwargs(False), open=False) as pool:
        incident = await run.alert(client)
        assert await ApprovalStore(pool, IntakeQueue(pool, QueuePolicy())).expire_due() == []
        assert (await client.get(f"/incidents/{incident['id']}")).json()["status"] == "awaiting_approval"


async def decide_with(client: Any, incident_id: int, pending: dict[str, Any]) -> Any:
    return await client.post(f"/incidents/{incident_id}/approval",
                             json={"decision": "approve", "approver": "alice", "diff_hash": pending["diff_hash"]})
