"""Without a webhook, the poller finds a merged (or closed) pull request and feeds the same transitions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr

from app.clusters import ClusterConfig, ClusterRegistry
from app.incidents.pull_requests import PullRequestStore
from app.incidents.queue import IntakeQueue, QueuePolicy
from app.incidents.store import IncidentStore
from app.integrations.github import GitHubClient
from app.settings import Settings
from app.verification import PullRequestPoller, VerificationRunner, VerifyPolicy, pr_poller
from sim.runtime import RunningSim
from tests.support.github_standin import GitHubStandIn, github_standin
from tests.support.verification import MERGE_COMMIT, REPO, VirtualClock, apply_fix, incident, seed_incident


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    with github_standin() as running:
        yield running


def _client(standin: GitHubStandIn) -> Callable[[], GitHubClient]:
    return lambda: GitHubClient(standin.url, "ghs_test", REPO, max_attempts=1)


async def _open_pull_request(standin: GitHubStandIn, incident_id: int) -> int:
    async with _client(standin)() as github:
        pr = await github.create_pull_request(f"opsgraph/{incident_id}-raise-memory-limit", "main", "Raise", "")
    return pr.number


def _close(standin: GitHubStandIn, number: int, *, merged: bool) -> None:
    standin.pulls[number].update(state="closed", merged=merged, merged_at=datetime.now(UTC).isoformat() if merged else None,
                                 merge_commit_sha=MERGE_COMMIT if merged else None,
                                 merged_by={"login": "bob"} if merged else None)


async def test_poller_finds_the_merge_and_the_verification_resolves(
        db_pool: AsyncConnectionPool[Any], database_url: str, standin: GitHubStandIn,
        sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("oom_memory_hog")
    queue = IntakeQueue(db_pool, QueuePolicy())
    store = PullRequestStore(db_pool, queue)
    merged_id = seed_incident(database_url, number=None)
    rejected_id = seed_incident(database_url, number=None)
    for incident_id in (merged_id, rejected_id):  # the runner recorded the PR it opened
        number = await _open_pull_request(standin, incident_id)
        async with db_pool.connection() as conn:
            await conn.execute("UPDATE incidents SET pr = jsonb_set(pr, '{number}', to_jsonb(%s::int)) WHERE id = %s",
                               (number, incident_id))
    poller = PullRequestPoller(store, _client(standin), REPO, 60.0)

    assert await poller.poll_once() == []  # both still open: nothing changes
    assert incident(database_url, merged_id)["status"] == "remediating"

    _close(standin, 1, merged=True)
    _close(standin, 2, merged=False)
    changes = await poller.poll_once()
    assert [(c.outcome, c.incident_id) for c in changes] == [("verifying", merged_id), ("rejected", rejected_id)]
    assert await poller.poll_once() == []  # neither is remediating any more: GitHub is not asked again
    gets = [r.path for r in standin.requests if r.method == "GET"]
    assert gets == [f"/repos/{REPO}/pulls/1", f"/repos/{REPO}/pulls/2"] * 2

    merged = incident(database_url, merged_id)
    assert merged["status"] == "verifying" and merged["work"] == [{"kind": "verify", "status": "queued"}]
    (event,) = [e for e in merged["timeline"] if e["kind"] == "pr_merged"]
    assert event["message"] == "pull request #1 merged by bob; verifying the workload"
    assert incident(database_url, rejected_id)["status"] == "awaiting_human"

    apply_fix(sim)
    clusters = ClusterRegistry({"default": ClusterConfig("default", sim.kubeconfig_path, None)}, "default")
    incidents = IncidentStore(db_pool, queue, join_window_seconds=300, cluster_error=clusters.unknown_reason)
    clock = VirtualClock()
    runner = VerificationRunner(incidents, store, clusters, VerifyPolicy(600, 30, 2), github=_client(standin),
                                github_repo=REPO, clock=clock.now, sleep=clock.sleep)
    claim = await queue.claim("test-worker", "watch")
    assert claim is not None and (claim.item.kind, claim.item.incident_id) == ("verify", merged_id)
    outcome = await runner.run(claim.item, resume=False)
    assert outcome.status == "done" and outcome.message.startswith("verified healthy: 1/1 ready, 1/1 updated")
    assert clock.slept == [30.0]
    assert incident(database_url, merged_id)["status"] == "resolved"
    assert [(c["issue"], c["body"].splitlines()[0]) for c in standin.comments] == [
        (1, "verified healthy: 1/1 ready, 1/1 updated, no new Warning events since the merge")]
    again = await runner.run(claim.item, resume=True)  # a redelivered item finds nothing left to do
    assert again.message == f"incident {merged_id} is resolved; nothing to verify" and len(standin.comments) == 1


@pytest.mark.parametrize(("update", "polls"), [
    pytest.param({"github_token": SecretStr("t"), "github_repo": REPO}, True, id="token-repo-no-webhook"),
    pytest.param({"github_token": SecretStr("t"), "github_repo": REPO, "github_webhook_secret": SecretStr("s")},
                 False, id="webhook-configured"),
    pytest.param({"github_token": SecretStr("t"), "github_repo": REPO, "pr_poll_seconds": 0}, False, id="disabled"),
    pytest.param({"github_repo": REPO}, False, id="no-token"),
])
def test_poller_runs_only_when_merges_must_be_asked_for(settings: Settings, update: dict[str, Any],
                                                        polls: bool, db_pool: Any) -> None:
    store = PullRequestStore(db_pool, IntakeQueue(db_pool, QueuePolicy()))
    assert (pr_poller(settings.model_copy(update=update), store) is not None) is polls
