"""After a merge the service watches the workload on its (simulated) cluster and ends the incident.

The whole path is real: a signed webhook over HTTP, Postgres, the intake queue and a worker that
dispatches `verify` items through `KindRouter` to `VerificationRunner`, the read-only toolset against a
sim, and the GitHub stand-in for the comment. Only time is virtual: the 600 s window passes at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from pydantic import SecretStr

from app.dispatch import KindRouter
from app.main import create_app
from app.services import Services
from app.runner import build_graph_runner
from app.settings import Settings
from app.verification import build_verification_runner
from sim.runtime import RunningSim
from tests.support.github_standin import GitHubStandIn, github_standin
from tests.support.intake import ThreadedService, wait_until
from tests.support.verification import (
    MERGE_COMMIT, REPO, WEBHOOK_SECRET, VirtualClock, apply_fix, deliver, incident, pr_event, seed_incident,
)


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    with github_standin() as running:
        yield running


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def start_service(settings: Settings, standin: GitHubStandIn,
                  clock: VirtualClock) -> Iterator[Callable[[RunningSim], ThreadedService]]:
    """The service on the sim's cluster, its `verify` work wired the way the lifespan wires it."""
    services: list[ThreadedService] = []

    def runners(services: Services) -> KindRouter:
        return KindRouter({"verify": build_verification_runner(services, clock=clock.now, sleep=clock.sleep)},
                          default=build_graph_runner(services))  # a reopened incident's `resume` (human help)

    def start(sim: RunningSim) -> ThreadedService:
        configured = settings.model_copy(update={
            "github_webhook_secret": SecretStr(WEBHOOK_SECRET), "github_token": SecretStr("ghs_test"),
            "github_repo": REPO, "github_api_url": standin.url, "kubeconfig": sim.kubeconfig_path, "workers": 1,
            "verify_window_seconds": 600.0, "verify_poll_seconds": 30.0, "verify_healthy_checks": 2})
        service = ThreadedService(lambda: create_app(configured, runner_factory=runners))
        service.start()
        services.append(service)
        return service

    yield start
    for service in services:
        service.stop()


def _merged(service: ThreadedService, database_url: str) -> int:
    incident_id = seed_incident(database_url)
    reply = deliver(service.url, "pull_request", pr_event(1, f"opsgraph/{incident_id}-raise-memory-limit", merged=True))
    assert reply.json()["outcome"] == "verifying", reply.text
    return incident_id


def _ended(database_url: str, incident_id: int) -> dict[str, Any]:
    """The incident has left `verifying` and the worker has finished with its `verify` item.

    The runner ends the incident before the worker marks the item done, so both are awaited.
    """
    def settled() -> dict[str, Any] | None:
        row = incident(database_url, incident_id)
        busy = any(item["status"] in ("queued", "running") for item in row["work"])
        return row if row["status"] != "verifying" and not busy else None

    return wait_until(settled, timeout=60, what=f"incident {incident_id} to leave verifying and its work to finish")


def _audit(database_url: str, incident_id: int) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute("SELECT agent, tool, status FROM tool_audit WHERE incident_id = %s ORDER BY id",
                            (str(incident_id),)).fetchall()


def test_fixed_workload_is_resolved_and_the_pull_request_says_so(
        start_service: Callable[[RunningSim], ThreadedService], sim_cluster: Callable[..., RunningSim],
        standin: GitHubStandIn, database_url: str) -> None:
    sim = sim_cluster("oom_memory_hog")
    apply_fix(sim)  # Argo CD synced the merged change
    service = start_service(sim)
    incident_id = _merged(service, database_url)

    row = _ended(database_url, incident_id)
    assert row["status"] == "resolved" and row["closed_at"] is not None
    summary = "1/1 ready, 1/1 updated, no new Warning events since the merge"
    (verified,) = [e for e in row["timeline"] if e["kind"] == "verified"]
    assert verified["message"] == (f"verified healthy: {summary} (Deployment default/memory-hog on cluster "
                                   "default, after pull request #1 was merged)")
    assert verified["data"]["ready"] == verified["data"]["desired"] == 1 and verified["data"]["new_warnings"] == []
    statuses = [(e["data"]["from"], e["data"]["to"]) for e in row["timeline"] if e["kind"] == "status"]
    assert statuses == [("remediating", "verifying"), ("verifying", "resolved")]
    assert [e["kind"] for e in row["timeline"]].count("revert_proposed") == 0

    (comment,) = standin.comments
    assert comment["issue"] == 1 and comment["body"].startswith(f"verified healthy: {summary}\n")
    assert any(e["kind"] == "pr_comment" for e in row["timeline"])
    assert row["work"] == [{"kind": "verify", "status": "done"}]
    audit = _audit(database_url, incident_id)
    assert {(a["agent"], a["tool"]) for a in audit} == {("verification", "describe_deployment"),
                                                       ("verification", "list_pods"), ("verification", "get_events")}
    assert len(audit) == 6, "healthy on two looks in a row, then done"


def test_merge_that_does_not_fix_the_fault_reopens_with_a_revert(
        start_service: Callable[[RunningSim], ThreadedService], sim_cluster: Callable[..., RunningSim],
        standin: GitHubStandIn, database_url: str, clock: VirtualClock) -> None:
    sim = sim_cluster("oom_memory_hog")  # the change merged, but memory-hog still crash-loops
    service = start_service(sim)
    incident_id = _merged(service, database_url)

    row = _ended(database_url, incident_id)
    assert row["status"] == "reopened" and row["closed_at"] is None
    assert row["status_reason"] == "fix did not make Deployment default/memory-hog healthy"
    (proposal,) = [e for e in row["timeline"] if e["kind"] == "revert_proposed"]
    assert proposal["data"]["command"] == f"git revert {MERGE_COMMIT}"
    assert proposal["message"].startswith("still failing 600 s after pull request #1 was merged: 0/1 ready")
    assert proposal["message"].endswith(f"proposed revert: `git revert {MERGE_COMMIT}`")
    evidence = proposal["data"]["evidence"]
    assert (evidence["verdict"], evidence["ready"], evidence["desired"]) == ("failing", 0, 1)
    assert any("CrashLoopBackOff" in problem or "OOMKilled" in problem for problem in evidence["pod_problems"])
    assert [e["kind"] for e in row["timeline"]].count("verified") == 0
    (comment,) = standin.comments
    assert comment["body"].startswith("not verified: 0/1 ready")
    # It looked through the whole window and no longer: every 30 s, a last look at the deadline, three
    # read-only calls per look (the window counts from when the merge was recorded, after the clock started).
    assert clock.slept[:20] == [30.0] * 20 and all(s < 30.0 for s in clock.slept[20:])
    assert 599 < sum(clock.slept) < 610
    assert len(_audit(database_url, incident_id)) == 3 * (1 + len(clock.slept))
