"""HumanHelp end to end through the service, the real graph and the Postgres checkpointer: a run the crew
cannot finish asks a person, waits, and carries their reply on (HTTP API; Slack has its own tests)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from tests.support.approval_flow import Flow, after_decision, decide, settled
from tests.support.verification import MERGE_COMMIT, WEBHOOK_SECRET, pr_event, sign


async def rejected(run: Flow, client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    incident = await run.alert(client)
    assert (await decide(client, incident["id"], "reject", "bob", reason="not during the sale")).status_code == 202
    await after_decision(client, incident["id"])
    question = await client.get(f"/incidents/{incident['id']}/help")
    assert question.status_code == 200, question.text
    return incident["id"], question.json()


async def test_rejection_asks_a_person_and_their_resolution_closes_the_incident(flow: Callable[..., Flow]) -> None:
    run = flow()
    async with run.service() as client:
        iid, question = await rejected(run, client)
        request = question["request"]
        assert question["reply"] is None and request["reason"] == "rejected by bob: not during the sale"
        assert request["actions"] == ["diagnose", "plan", "resolve"]
        answer = await client.post(f"/incidents/{iid}/help", json={
            "request_id": request["request_id"], "action": "resolve", "responder": "carol",
            "text": "raised the limit by hand after the sale"})
        assert answer.status_code == 202, answer.text
        done = await settled(client, iid, lambda i: i["status"] != "awaiting_human")
        again = await client.post(f"/incidents/{iid}/help", json={
            "request_id": request["request_id"], "action": "resolve", "responder": "dave", "text": "me too"})
    assert done["status"] == "resolved" and "resolved by carol" in done["status_reason"]
    report = [e for e in done["timeline"] if e["kind"] == "report"][-1]
    assert "resolved by carol: raised the limit by hand after the sale" in report["message"]
    assert any(e["kind"] == "help" and "carol" in e["message"] for e in done["timeline"])
    assert again.status_code == 409 and "already answered by carol" in again.json()["detail"]
    assert run.github.posted_pulls() == []


async def test_a_hint_diagnoses_again_and_the_same_change_is_asked_about_anew(flow: Callable[..., Flow]) -> None:
    run = flow()
    async with run.service() as client:
        iid, question = await rejected(run, client)
        answer = await client.post(f"/incidents/{iid}/help", json={
            "request_id": question["request"]["request_id"], "action": "diagnose", "responder": "carol",
            "text": "the sale is over, look again"})
        assert answer.status_code == 202, answer.text
        asked = await settled(client, iid, lambda i: i["status"] == "awaiting_approval")
        # The earlier rejection answered the earlier question only: this one waits for a new decision.
        assert (await decide(client, iid, "approve")).status_code == 202
        done = await after_decision(client, iid)
    assert done["status"] == "remediating" and len(run.github.posted_pulls()) == 1
    kinds = [e["kind"] for e in asked["timeline"]]
    assert kinds.count("rules") == 2  # diagnosed twice: before and after the hint
    assert any("diagnosing again with a hint from carol" in e["message"] for e in asked["timeline"])


async def test_bad_replies_are_refused_and_resume_nothing(flow: Callable[..., Flow]) -> None:
    run = flow()
    async with run.service() as client:
        iid, question = await rejected(run, client)
        request_id = question["request"]["request_id"]
        base = {"request_id": request_id, "action": "resolve", "responder": "carol", "text": "done"}
        assert (await client.post(f"/incidents/{iid}/help", json={**base, "action": "reboot"})).status_code == 422
        stale = await client.post(f"/incidents/{iid}/help", json={**base, "request_id": f"{iid}-help-9"})
        assert stale.status_code == 409 and "no question" in stale.json()["detail"]
        assert (await client.post(f"/incidents/{iid}/help", json={**base, "text": "x" * 5000})).status_code == 422
        assert (await client.post(f"/incidents/{iid}/help", content=b"{not json")).status_code == 422
        binary = await client.post(f"/incidents/{iid}/help", content=b"\xff\xfe\x00 binary")
        assert binary.status_code == 422, binary.text
        assert (await client.post(f"/incidents/{iid}/help", json={**base, "responder": "a\x00b"})).status_code == 422
        anonymous = await client.post(f"/incidents/{iid}/help", json=base, headers={"Authorization": "Bearer wrong"})
        assert anonymous.status_code == 401
        assert (await client.post("/incidents/999999/help", json=base)).status_code == 404
        assert (await client.get("/incidents/999999/help")).status_code == 404
        assert (await client.post(f"/incidents/{iid}/cancel", json={"reason": "handled elsewhere"})).status_code == 200
        closed = await client.post(f"/incidents/{iid}/help", json=base)
        incident = (await client.get(f"/incidents/{iid}")).json()
    assert closed.status_code == 409 and "cancelled" in closed.json()["detail"]
    assert incident["status"] == "cancelled"
    assert not any(e["kind"] == "help" and e["actor"] == "carol" for e in incident["timeline"])


async def test_reminder_then_timeout_keep_everything_and_a_late_reply_still_resumes(flow: Callable[..., Flow]) -> None:
    run = flow(help_reminder_seconds=0.3, help_timeout_seconds=0.8, help_sweep_seconds=0.1)
    async with run.service() as client:
        iid, question = await rejected(run, client)
        timed_out = await settled(client, iid, lambda i: "no reply in time" in (i["status_reason"] or ""))
        answer = await client.post(f"/incidents/{iid}/help", json={
            "request_id": question["request"]["request_id"], "action": "resolve", "responder": "carol",
            "text": "late, but handled"})
        assert answer.status_code == 202, answer.text
        done = await settled(client, iid, lambda i: i["status"] == "resolved")
    help_lines = [e["message"] for e in timed_out["timeline"] if e["kind"] == "help"]
    assert any(line.startswith("reminder: still waiting for a person") for line in help_lines)
    assert any(line.startswith("no reply in time: needs a person") for line in help_lines)
    assert help_lines.index(next(x for x in help_lines if x.startswith("reminder"))) < \
           help_lines.index(next(x for x in help_lines if x.startswith("no reply")))
    assert sum(line.startswith("reminder") for line in help_lines) == 1  # once, however many passes ran
    assert timed_out["status"] == "awaiting_human" and timed_out["diagnosis"]["category"] == "oom_killed"
    assert "resolved by carol: late, but handled" in done["status_reason"]


async def test_a_merged_fix_that_fails_verification_asks_a_person_with_the_revert(flow: Callable[..., Flow]) -> None:
    run = flow(github_webhook_secret=SecretStr(WEBHOOK_SECRET), verify_window_seconds=0.5, verify_poll_seconds=0.1)
    async with run.service() as client:
        incident = await run.alert(client)
        iid = incident["id"]
        assert (await decide(client, iid, "approve")).status_code == 202
        opened = await after_decision(client, iid)
        # Merged, but the cluster never synced the change: memory-hog keeps crash-looping.
        body = json.dumps(pr_event(opened["pr"]["number"], opened["pr"]["branch"], merged=True)).encode()
        merged = await client.post("/webhooks/github", content=body, headers={
            "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "merge-1", "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(body)})
        assert merged.status_code in (200, 202), merged.text
        await settled(client, iid, lambda i: i["status"] == "reopened")
        question = await until_asked(client, iid)
        answer = await client.post(f"/incidents/{iid}/help", json={
            "request_id": question["request_id"], "action": "resolve", "responder": "carol",
            "text": f"reverted {MERGE_COMMIT[:12]} by hand; the node was short of memory"})
        assert answer.status_code == 202, answer.text
        done = await settled(client, iid, lambda i: i["status"] == "resolved")
    request = question["request"]
    assert request["from"] == "verification" and f"proposed revert: `git revert {MERGE_COMMIT}`" in request["reason"]
    assert "resolved by carol: reverted" in done["status_reason"]
    kinds = [e["kind"] for e in done["timeline"]]
    last_report = len(kinds) - 1 - kinds[::-1].index("report")
    assert kinds.index("revert_proposed") < last_report and "resolved by carol" in done["timeline"][last_report]["message"]


async def until_asked(client: httpx.AsyncClient, incident_id: int) -> dict[str, Any]:
    for _ in range(600):
        answer = await client.get(f"/incidents/{incident_id}/help")
        if answer.status_code == 200 and answer.json()["reply"] is None:
            return dict(answer.json())
        await asyncio.sleep(0.05)  # polling the API, as a person's client would
    incident = (await client.get(f"/incidents/{incident_id}")).json()
    raise AssertionError(f"incident {incident_id} never asked for help: "
                         + "; ".join(f"{e['kind']}: {e['message']}" for e in incident["timeline"][-6:]))


async def test_after_a_rejection_a_person_asks_for_the_plan_again_and_approves_it(flow: Callable[..., Flow]) -> None:
    run = flow()
    async with run.service() as client:
        iid, question = await rejected(run, client)
        answer = await client.post(f"/incidents/{iid}/help", json={
            "request_id": question["request"]["request_id"], "action": "plan", "responder": "carol",
            "text": "the sale is over: propose it again"})
        assert answer.status_code == 202, answer.text
        asked = await settled(client, iid, lambda i: i["status"] == "awaiting_approval")
        assert (await decide(client, iid, "approve")).status_code == 202
        done = await after_decision(client, iid)
    kinds = [e["kind"] for e in asked["timeline"]]
    assert kinds.count("rules") == 1 and kinds.count("plan") == 2  # planned again, not diagnosed again
    assert done["status"] == "remediating" and len(run.github.posted_pulls()) == 1
    decisions = [e["message"] for e in done["timeline"] if e["kind"] == "approval"]
    assert decisions[0].startswith("reject by bob") and decisions[-1] == "approve by alice"


def merge_on_the_remote(run: Flow, branch: str) -> None:
    """What GitHub does when the pull request is merged (a merge commit on main)."""
    checkout = run.tmp / "merging"
    git = ["git", "-c", "user.name=GitHub", "-c", "user.email=noreply@github.com"]
    subprocess.run([*git, "clone", "-q", run.repo_url, str(checkout)], check=True)
    subprocess.run([*git, "-C", str(checkout), "merge", "-q", "--no-ff", "-m", f"Merge {branch}", f"origin/{branch}"],
                   check=True)
    subprocess.run([*git, "-C", str(checkout), "push", "-q", "origin", "main"], check=True)


async def test_a_person_asks_for_the_revert_and_it_goes_through_the_approval_gate(flow: Callable[..., Flow]) -> None:
    run = flow(github_webhook_secret=SecretStr(WEBHOOK_SECRET), verify_window_seconds=0.5, verify_poll_seconds=0.1)
    async with run.service() as client:
        incident = await run.alert(client)
        iid = incident["id"]
        assert (await decide(client, iid, "approve")).status_code == 202
        fix = (await after_decision(client, iid))["pr"]
        merge_on_the_remote(run, fix["branch"])
        body = json.dumps(pr_event(fix["number"], fix["branch"], merged=True)).encode()
        await client.post("/webhooks/github", content=body, headers={
            "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "merge-1", "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(body)})
        question = await until_asked(client, iid)
        assert question["request"]["actions"] == ["diagnose", "plan", "revert", "resolve"]
        assert question["request"]["revert_commit"] == fix["commit"]
        answer = await client.post(f"/incidents/{iid}/help", json={
            "request_id": question["request_id"], "action": "revert", "responder": "carol",
            "text": "undo it, we will look tomorrow"})
        assert answer.status_code == 202, answer.text
        await settled(client, iid, lambda i: i["status"] == "awaiting_approval")
        pending = (await client.get(f"/incidents/{iid}/approval")).json()
        field = pending["steps"][0]["object_field"]
        edited = await decide(client, iid, "edit", edits=[{"object_field": field, "new_value": "1Gi"}])
        assert edited.status_code == 422 and "cannot be edited" in edited.json()["detail"]
        assert (await decide(client, iid, "approve", "bob")).status_code == 202
        done = await after_decision(client, iid)
    assert "+              memory: 100Mi" in pending["diff"] and pending["steps"][0]["via"] == "git revert"
    assert done["status"] == "remediating" and done["pr"]["branch"] == fix["branch"] + "-revert"
    assert len(run.github.posted_pulls()) == 2
    reverted = run.branch_files(done["pr"]["branch"])["apps/memory-hog/deployment.yaml"]
    assert reverted == run.sim.scenario.gitops.files["apps/memory-hog/deployment.yaml"]  # as before the fix
