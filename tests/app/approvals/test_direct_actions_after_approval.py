"""Issue 6 item 3: direct actions (scale, restart) are off by default, enabled per cluster/namespace,
run only after the approval gate, and audited - through the service over real HTTP, real Postgres, sim."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.audit_store import ToolAuditStore
from tests.support.approval_flow import Flow, after_decision, decide

SCENARIO = Path(__file__).parent / "scenarios" / "scaled_to_zero.yaml"


def _replicas(run: Flow) -> int:
    return int(run.sim.store.get("Deployment", "shop", "web")["spec"]["replicas"])


async def _audit(run: Flow, incident_id: int) -> list[tuple[str, str, str]]:
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    url = run.settings.database_url.get_secret_value()  # type: ignore[union-attr]
    async with AsyncConnectionPool(url, open=False, kwargs={"row_factory": dict_row}) as pool:
        await pool.open()
        rows = await ToolAuditStore(pool).for_incident(str(incident_id))
    return [(row.agent, row.tool, row.status) for row in rows if row.tool in ("scale", "rollout_restart")]


async def test_enabled_namespace_shows_the_action_and_approval_scales_it_back(flow: Callable[..., Flow]) -> None:
    run = flow(str(SCENARIO), direct_actions=["*/shop"])
    async with run.service() as client:
        incident = await run.alert(client)
        assert incident["status"] == "awaiting_approval", incident["status_reason"]
        pending = (await client.get(f"/incidents/{incident['id']}/approval")).json()
        assert pending["actions"] == [{"tool": "scale", "args": {"kind": "Deployment", "namespace": "shop",
                                                                 "name": "web", "replicas": 3},
                                       "rationale": pending["actions"][0]["rationale"]}]
        assert pending["diff"] == "" and _replicas(run) == 0  # nothing runs before the decision
        assert (await decide(client, incident["id"], "approve")).status_code == 202
        done = await after_decision(client, incident["id"])
    assert done["status"] == "remediating" and "scaled from 0 to 3" in done["status_reason"] + str(done["timeline"])
    assert _replicas(run) == 3
    assert run.remote_branches() == ["main"] and run.github.posted_pulls() == []  # actions only: no PR
    assert await _audit(run, incident["id"]) == [("remediation", "scale", "ok")]


async def test_reject_executes_nothing(flow: Callable[..., Flow]) -> None:
    run = flow(str(SCENARIO), direct_actions=["*/shop"])
    async with run.service() as client:
        incident = await run.alert(client)
        assert (await decide(client, incident["id"], "reject", "bob", reason="on purpose")).status_code == 202
        done = await after_decision(client, incident["id"])
    assert done["status"] == "awaiting_human" and _replicas(run) == 0
    assert await _audit(run, incident["id"]) == []


async def test_off_by_default_never_plans_an_action(flow: Callable[..., Flow]) -> None:
    run = flow(str(SCENARIO))
    async with run.service() as client:
        incident = await run.alert(client)
        if incident["status"] == "awaiting_approval":
            pending = (await client.get(f"/incidents/{incident['id']}/approval")).json()
            assert "actions" not in pending
    assert _replicas(run) == 0 and await _audit(run, incident["id"]) == []


async def test_enabled_for_another_namespace_only_is_no_action(flow: Callable[..., Flow]) -> None:
    run = flow(str(SCENARIO), direct_actions=["*/web", "other/shop"])
    async with run.service() as client:
        incident = await run.alert(client)
        if incident["status"] == "awaiting_approval":
            pending = (await client.get(f"/incidents/{incident['id']}/approval")).json()
            assert "actions" not in pending
    assert _replicas(run) == 0 and await _audit(run, incident["id"]) == []


async def _asked_again(client: Any, incident_id: int, first_hash: str) -> dict[str, Any]:
    for _ in range(600):
        reply = await client.get(f"/incidents/{incident_id}/approval")
        if reply.status_code == 200 and reply.json()["diff_hash"] != first_hash:
            return dict(reply.json())
        await asyncio.sleep(0.05)  # polling the API, as a person's client would
    raise AssertionError("the edited action was never put up for approval")


async def test_an_edited_action_is_asked_for_again_and_runs_as_edited(flow: Callable[..., Flow]) -> None:
    run = flow(str(SCENARIO), direct_actions=["*/shop"])
    async with run.service() as client:
        incident = await run.alert(client)
        first = (await client.get(f"/incidents/{incident['id']}/approval")).json()
        edited = await decide(client, incident["id"], "edit", edits=[{"object_field": "spec.replicas", "new_value": 2}])
        assert edited.status_code == 202, edited.text
        pending = await _asked_again(client, incident["id"], first["diff_hash"])
        assert [(a["tool"], a["args"]["replicas"]) for a in pending["actions"]] == [("scale", 2)]
        assert _replicas(run) == 0 and await _audit(run, incident["id"]) == []  # the edit alone wrote nothing
        assert (await decide(client, incident["id"], "approve", "bob")).status_code == 202
        done = await after_decision(client, incident["id"])
    assert done["status"] == "remediating", done["status_reason"]
    assert _replicas(run) == 2
    assert any(e["message"].startswith("edited by alice: direct action(s): ") for e in done["timeline"])
    assert run.remote_branches() == ["main"] and run.github.posted_pulls() == []  # still no pull request
    assert await _audit(run, incident["id"]) == [("remediation", "scale", "ok")]


async def test_an_edit_that_leaves_the_actions_limits_is_refused(flow: Callable[..., Flow]) -> None:
    run = flow(str(SCENARIO), direct_actions=["*/shop"])
    async with run.service() as client:
        incident = await run.alert(client)
        edited = await decide(client, incident["id"], "edit", edits=[{"object_field": "spec.replicas",
                                                                      "new_value": "all of them"}])
        assert edited.status_code == 202, edited.text
        done = await after_decision(client, incident["id"])
    assert done["status"] == "awaiting_human", done["status_reason"]
    assert "edit by alice refused" in done["status_reason"]
    assert _replicas(run) == 0 and await _audit(run, incident["id"]) == []
