"""Issue 6 end to end: alert → diagnosis → plan → approval gate → branch + pull request, through the
service over real HTTP, with the real Postgres checkpointer, real git (a local bare repo) and a local
GitHub API stand-in; the merged change is then synced to the simulated cluster."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agents.toolsets.gitops.tree import RepoTree
from tests.support.approval_flow import COMMENT, Flow, after_decision, decide
from tests.support.gitops import seed_bare_repo


async def test_approve_opens_one_minimal_pull_request_that_heals_the_workload(flow: Callable[..., Flow]) -> None:
    run = flow()
    async with run.service() as client:
        incident = await run.alert(client)
        assert incident["status"] == "awaiting_approval"
        pending = (await client.get(f"/incidents/{incident['id']}/approval")).json()
        assert pending["diff"].count("\n-") == 1 and "-              memory: 100Mi" in pending["diff"]
        assert (await decide(client, incident["id"], "approve")).status_code == 202
        done = await after_decision(client, incident["id"])

    assert done["status"] == "remediating" and done["pr"]["number"] == 1
    branch = done["pr"]["branch"]
    assert run.remote_branches() == sorted(["main", branch]) and branch.startswith(f"opsgraph/{incident['id']}-")
    [request] = run.github.posted_pulls()
    assert (request.json["head"], request.json["base"]) == (branch, "main")
    assert "oom killed" in request.json["title"] and "memory-hog" in request.json["title"]
    assert "OOMKilled" in request.json["body"] and "git revert" in request.json["body"]
    files = run.branch_files(branch)
    before = run.sim.scenario.gitops.files
    changed = [path for path in files if files[path] != before.get(path)]
    assert changed == ["apps/memory-hog/deployment.yaml"]
    assert COMMENT in files[changed[0]]  # comments survive the edit
    assert [line for line in files[changed[0]].splitlines() if line.lstrip().startswith("#")] == \
           [line for line in before[changed[0]].splitlines() if line.lstrip().startswith("#")]
    # What Argo CD / Flux would do once the PR is merged: the workload becomes healthy.
    run.sim.sync([rendered.obj for rendered in RepoTree(files).render()])
    deployment = run.sim.store.get("Deployment", "default", "memory-hog")
    assert deployment["status"].get("readyReplicas") == 1


async def test_reject_records_who_and_why_and_pushes_nothing(flow: Callable[..., Flow]) -> None:
    run = flow()
    async with run.service() as client:
        incident = await run.alert(client)
        assert (await decide(client, incident["id"], "reject", "bob", reason="not during the sale")).status_code == 202
        done = await after_decision(client, incident["id"])
    assert done["status"] == "awaiting_human" and "rejected by bob: not during the sale" in done["status_reason"]
    assert run.remote_branches() == ["main"] and run.github.posted_pulls() == []


async def test_edit_is_reapplied_revalidated_and_pushed(flow: Callable[..., Flow]) -> None:
    run = flow()
    field = "spec.template.spec.containers[name=memory-hog].resources.limits.memory"
    async with run.service() as client:
        incident = await run.alert(client)
        answer = await decide(client, incident["id"], "edit", edits=[{"object_field": field, "new_value": "384Mi"}])
        assert answer.status_code == 202, answer.text
        done = await after_decision(client, incident["id"])
    assert done["status"] == "remediating"
    text = run.branch_files(done["pr"]["branch"])["apps/memory-hog/deployment.yaml"]
    assert "memory: 384Mi" in text and "memory: 256Mi" not in text.split("limits:")[1]


async def test_double_decision_unauthorised_approver_stale_hash_and_nothing_pending(flow: Callable[..., Flow]) -> None:
    run = flow()
    async with run.service() as client:
        incident = await run.alert(client)
        iid = incident["id"]
        assert (await decide(client, iid, "approve", "mallory")).status_code == 403
        stale = await client.post(f"/incidents/{iid}/approval",
                                  json={"decision": "approve", "approver": "alice", "diff_hash": "0" * 64})
        assert stale.status_code == 409 and "superseded" in stale.json()["detail"]
        assert (await decide(client, iid, "approve")).status_code == 202
        second = await decide(client, iid, "approve", "bob")
        assert second.status_code == 409 and "already decided: approve by alice" in second.json()["detail"]
        await after_decision(client, iid)
        nothing = await client.get(f"/incidents/{iid}/approval")
        assert nothing.status_code == 409 and "no change awaiting approval" in nothing.json()["detail"]
        unknown = await client.get("/incidents/999999/approval")
        assert unknown.status_code == 404
    assert len(run.github.posted_pulls()) == 1  # one PR, however many clicks


async def test_approval_resumes_after_the_service_restarts(flow: Callable[..., Flow]) -> None:
    run = flow()
    async with run.service() as client:
        incident = await run.alert(client)
        pending = (await client.get(f"/incidents/{incident['id']}/approval")).json()
    # The first process is gone; a new one (another replica, hours later) has only the checkpoint.
    async with run.service() as client:
        answer = await client.post(f"/incidents/{incident['id']}/approval", json={
            "decision": "approve", "approver": "alice", "diff_hash": pending["diff_hash"]})
        assert answer.status_code == 202
        done = await after_decision(client, incident["id"])
    assert done["status"] == "remediating" and len(run.github.posted_pulls()) == 1
    kinds = [event["kind"] for event in done["timeline"]]
    assert kinds.count("rules") == 1  # the diagnosis was not redone on resume


async def test_unreachable_gitops_repo_escalates_and_keeps_the_incident(flow: Callable[..., Flow], tmp_path: Path) -> None:
    run = flow(gitops_repo_url=str(tmp_path / "no-such-repo.git"))
    async with run.service() as client:
        incident = await run.alert(client)
        # Nothing awaits approval: a decision for this thread is refused, and changes nothing.
        refused = await client.post(f"/incidents/{incident['id']}/approval",
                                    json={"decision": "approve", "approver": "alice", "diff_hash": "a" * 64})
        assert refused.status_code == 409 and "no change awaiting approval" in refused.json()["detail"]
        assert (await client.get(f"/incidents/{incident['id']}")).json()["status"] == "awaiting_human"
    assert incident["status"] == "awaiting_human"
    assert "GitOps repository could not be read" in incident["status_reason"]
    assert incident["diagnosis"]["category"] == "oom_killed"  # the diagnosis is kept


async def test_object_missing_from_the_repo_is_said_and_escalated(flow: Callable[..., Flow], tmp_path: Path) -> None:
    run = flow()
    # A repo that holds some other app only.
    other = seed_bare_repo({"apps/other/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                            "  name: other\n  namespace: default\nspec: {}\n"}, tmp_path / "other.git")
    run.settings = run.settings.model_copy(update={"gitops_repo_url": other})
    async with run.service() as client:
        incident = await run.alert(client)
    assert incident["status"] == "awaiting_human"
    assert "memory-hog" in incident["status_reason"] and "no change could be planned" in incident["status_reason"]


async def test_github_refusing_the_token_hands_the_incident_to_a_person(flow: Callable[..., Flow]) -> None:
    run = flow()
    run.github.fail_next(401, message="Bad credentials")
    async with run.service() as client:
        incident = await run.alert(client)
        assert (await decide(client, incident["id"], "approve")).status_code == 202
        done = await after_decision(client, incident["id"])
    assert done["status"] == "awaiting_human"
    assert "401" in done["status_reason"] or "token" in done["status_reason"].lower()
    assert done["pr"] is None
    assert done["plan"]["diff_hash"]  # the approved change is still there for the person
