"""A worker process killed with SIGKILL: another process re-claims the item after the lease expires, the
LangGraph thread resumes from its checkpoint, and the incident ends exactly once.

First with a probe graph blocked mid-run; then the real graph, alert to pull request, killed at every step
boundary on that path (between each pair of nodes, and between commit, push and pull request inside the
delivery), through the test-only OPSGRAPH_TEST_CRASH_AT (app/crash_points.py)."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.settings import Settings
from app.eval.payload import webhook_payload
from sim.runtime import RunningSim
from tests.support.checkpoint_runner import create_probe_tables
from tests.support.github_standin import GitHubStandIn, github_standin
from tests.support.gitops import git, seed_bare_repo
from tests.support.intake import (
    API_TOKEN,
    am_alert,
    am_payload,
    bearer,
    intake_env,
    query,
    start_runner_service,
    wait_until,
)
from tests.support.service import ServiceProcess, start_service


def test_killed_worker_item_resumes_from_checkpoint_on_another_process(
        settings: Settings, database_url: str, tmp_path: Path) -> None:
    create_probe_tables(database_url)
    assert settings.database_url is not None
    env = intake_env(settings.database_url.get_secret_value(), OPSGRAPH_WORKERS="2",
                     OPSGRAPH_WORKER_LEASE_SECONDS="2", OPSGRAPH_WORKER_POLL_SECONDS="0.3")
    release = tmp_path / "release"
    first = start_runner_service(env, tmp_path / "first.log", release_file=release, resolve_on_finish=True)
    second = None
    try:
        reply = httpx.post(first.url + "/webhooks/alertmanager", headers=bearer(), timeout=30, json=am_payload(
            [am_alert("KubePodCrashLooping", "fp-1", namespace="shop", pod="cart-7f9c6d5b8-k2x4q")]))
        assert reply.status_code == 202
        (incident_id,) = reply.json()["incident_ids"]
        # Mid-diagnosis: `investigate` is checkpointed and the graph is blocked in `wait_for_release`.
        wait_until(lambda: query(database_url, "SELECT 1 FROM probe_side_effects WHERE node = 'waiting' AND pid = %s",
                                 (first.process.pid,)), what="the first process to block mid-run")
        second = start_runner_service(env, tmp_path / "second.log", release_file=release, resolve_on_finish=True)
        # While the first process lives, its heartbeats keep the item: the second never takes it.
        assert query(database_url, "SELECT lease_owner FROM work_items")[0]["lease_owner"].split(":")[1] == str(
            first.process.pid)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        release.touch()
        wait_until(lambda: query(database_url, "SELECT status FROM work_items WHERE status = 'done'"), timeout=30,
                   what="the second process to finish the resumed item")
    finally:
        first.stop(signal.SIGKILL)
        if second is not None:
            second.stop()

    calls = query(database_url, "SELECT resume, pid FROM probe_runner_calls ORDER BY at")
    assert [(c["resume"], c["pid"]) for c in calls] == [(False, first.process.pid), (True, second.process.pid)]
    effects = query(database_url, "SELECT node, pid FROM probe_side_effects ORDER BY at")
    assert [e["node"] for e in effects] == ["investigate", "waiting", "waiting", "conclude"]
    assert effects[0]["pid"] == first.process.pid and effects[-1]["pid"] == second.process.pid
    attempts = query(database_url, "SELECT attempt, resume, outcome, message FROM work_attempts ORDER BY attempt")
    assert [(a["attempt"], a["resume"], a["outcome"]) for a in attempts] == [(1, False, "lost"), (2, True, "done")]
    assert "lease expired" in attempts[0]["message"]
    incident = query(database_url, "SELECT status, closed_at FROM incidents WHERE id = %s", (incident_id,))[0]
    assert incident["status"] == "resolved" and incident["closed_at"] is not None
    ended = query(database_url, "SELECT actor, message FROM incident_events WHERE incident_id = %s AND kind = 'status'",
                  (incident_id,))
    assert ended == [{"actor": "probe-graph", "message": "probe graph concluded"}]
    timeline = [e["message"] for e in query(database_url, "SELECT message FROM incident_events WHERE incident_id = %s "
                                                          "AND kind = 'attempt_started' ORDER BY id", (incident_id,))]
    assert timeline == ["diagnose started (attempt 1 of 5)",
                        "diagnose resumed from its checkpoint (attempt 2 of 5) after the previous worker's lease expired"]



# The real path of the oom_memory_hog alert, in order (the remediation subgraph starts again when the
# approval resumes it): each boundary is "the worker dies just here".
BEFORE_APPROVAL = ["before:triage", "before:diagnostics", "before:check_rules", "before:finalize",
                   "before:remediation", "before:plan_fix", "before:approval_gate"]
AFTER_APPROVAL = ["before:open_pull_request", "after_commit", "after_push", "after_pull_request", "before:report"]


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    with github_standin() as running:
        yield running


def _graph_env(settings: Settings, sim: RunningSim, repo_url: str, standin: GitHubStandIn, work_dir: Path,
               **variables: str) -> dict[str, str]:
    assert settings.database_url is not None
    return intake_env(settings.database_url.get_secret_value(), KUBECONFIG=str(sim.kubeconfig_path), OPSGRAPH_GITOPS_REPO_URL=repo_url,
                      OPSGRAPH_GITOPS_WORK_DIR=str(work_dir), GITHUB_TOKEN="ghp_standin",
                      OPSGRAPH_GITHUB_REPO="acme/gitops", OPSGRAPH_GITHUB_API_URL=standin.url,
                      OPSGRAPH_APPROVERS="alice", OPSGRAPH_WORKERS="1", OPSGRAPH_WORKER_LEASE_SECONDS="2",
                      OPSGRAPH_WORKER_POLL_SECONDS="0.3", OPSGRAPH_K8S_EVENTS_ENABLED="false",
                      OPSGRAPH_KB_STARTER_PACK="false", **variables)


def _api(service: ServiceProcess, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, service.url + path, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=30,
                         **kwargs)


def _status_is(service: ServiceProcess, incident_id: int, status: str) -> Callable[[], bool]:
    def holds() -> bool:
        reply = _api(service, "GET", f"/incidents/{incident_id}")
        if reply.status_code == 503:  # no database connection free within the request timeout (a loaded machine)
            return False
        assert reply.status_code == 200, reply.text
        return bool(reply.json()["status"] == status)

    return holds


def _approve(service: ServiceProcess, incident_id: int) -> None:
    pending = _api(service, "GET", f"/incidents/{incident_id}/approval").json()
    reply = _api(service, "POST", f"/incidents/{incident_id}/approval",
                 json={"decision": "approve", "approver": "alice", "diff_hash": pending["diff_hash"]})
    assert reply.status_code == 202, reply.text


@pytest.mark.parametrize("boundary", BEFORE_APPROVAL + AFTER_APPROVAL)
def test_worker_killed_at_a_step_boundary_resumes_and_opens_exactly_one_pull_request(
        boundary: str, settings: Settings, database_url: str, sim_cluster: Callable[..., RunningSim], standin: GitHubStandIn,
        tmp_path: Path) -> None:
    sim = sim_cluster("oom_memory_hog")
    repo_url = seed_bare_repo(sim.scenario.gitops.files, tmp_path / "gitops.git")
    # Separate clones: the process that takes over may be another replica on another machine.
    doomed = start_service(_graph_env(settings, sim, repo_url, standin, tmp_path / "clones-1",
                                      OPSGRAPH_TEST_CRASH_AT=boundary), tmp_path / "doomed.log")
    survivor: ServiceProcess | None = None
    try:
        alerts = [a.model_dump(mode="json", exclude_none=True) for a in sim.scenario.alerts]
        posted = httpx.post(doomed.url + "/webhooks/alertmanager", headers=bearer(), timeout=30,
                            json=webhook_payload(alerts, cluster="default", cluster_label="cluster"))
        assert posted.status_code == 202, posted.text
        (incident_id,) = posted.json()["incident_ids"]
        if boundary in AFTER_APPROVAL:
            wait_until(_status_is(doomed, incident_id, "awaiting_approval"), timeout=60, what="the approval gate")
            _approve(doomed, incident_id)
        assert doomed.process.wait(60) == -signal.SIGKILL, doomed.log()
        assert f"test crash point {boundary} reached" in doomed.log()
        tools_at_kill = query(database_url, "SELECT count(*) AS n FROM tool_audit")[0]["n"]

        survivor = start_service(_graph_env(settings, sim, repo_url, standin, tmp_path / "clones-2"),
                                 tmp_path / "survivor.log")
        if boundary in BEFORE_APPROVAL:
            wait_until(_status_is(survivor, incident_id, "awaiting_approval"), timeout=60, what="the approval gate")
            _approve(survivor, incident_id)
        wait_until(_status_is(survivor, incident_id, "remediating"), timeout=60, what="the pull request")
        incident = _api(survivor, "GET", f"/incidents/{incident_id}").json()
    finally:
        doomed.stop(signal.SIGKILL)
        if survivor is not None:
            survivor.stop()

    # One incident, one branch with one commit, one pull request.
    assert query(database_url, "SELECT id FROM incidents") == [{"id": incident_id}]
    branch = incident["pr"]["branch"]
    heads = git(tmp_path, "ls-remote", "--heads", repo_url)
    assert sorted(line.split("refs/heads/")[1] for line in heads.splitlines()) == sorted(["main", branch])
    assert git(tmp_path / "gitops.git", "rev-list", "--count", f"main..{branch}").strip() == "1"
    assert len(standin.posted_pulls()) == 1 and list(standin.pulls) == [incident["pr"]["number"]]
    # Resumed from the checkpoint: the item was lost with the first worker and taken over, and nothing the
    # first worker had checkpointed ran again (the diagnosis's tool calls are not repeated).
    attempts = query(database_url, "SELECT item_id, attempt, resume, outcome, worker FROM work_attempts ORDER BY id")
    lost = [a for a in attempts if a["outcome"] == "lost"]
    assert len(lost) == 1 and lost[0]["worker"].split(":")[1] == str(doomed.process.pid), attempts
    taken_over = [a for a in attempts if a["item_id"] == lost[0]["item_id"] and a["attempt"] == lost[0]["attempt"] + 1]
    assert [(a["resume"], a["outcome"]) for a in taken_over] == [(True, "done")], attempts
    resumed = [e["message"] for e in incident["timeline"] if e["kind"] == "attempt_started"
               and "resumed from its checkpoint" in e["message"]]
    assert resumed, [e["message"] for e in incident["timeline"]]
    tools_after = query(database_url, "SELECT count(*) AS n FROM tool_audit")[0]["n"]
    if boundary not in ("before:triage", "before:diagnostics", "before:check_rules"):
        assert tools_after == tools_at_kill, "the checkpointed diagnosis ran its tools again"
    assert [e["kind"] for e in incident["timeline"]].count("diagnosis") == 1
    assert [e["kind"] for e in incident["timeline"]].count("pull_request") == 1
