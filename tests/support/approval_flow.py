"""The approval flow through the service: a simulated cluster, a seeded GitOps repo, a GitHub stand-in,
and the calls a person's client makes to decide."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.eval.payload import webhook_payload
from app.eval.runner import settled_incident
from app.inprocess import serving
from app.settings import Settings
from sim.runtime import RunningSim
from tests.support.github_standin import GitHubStandIn, github_standin
from tests.support.gitops import seed_bare_repo

TOKEN = "test-token-0123456789"
COMMENT = "# TODO: sized before the 200M test profile"


@dataclass
class Flow:
    sim: RunningSim
    repo_url: str
    settings: Settings
    github: GitHubStandIn
    tmp: Path

    @asynccontextmanager
    async def service(self, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = self.settings.model_copy(update=overrides)
        async with serving(settings) as url, httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client:
            yield client

    async def alert(self, client: httpx.AsyncClient) -> dict[str, Any]:
        alerts = [a.model_dump(mode="json", exclude_none=True) for a in self.sim.scenario.alerts]
        posted = await client.post("/webhooks/alertmanager", json=webhook_payload(
            alerts, cluster=self.settings.default_cluster, cluster_label=self.settings.cluster_label))
        assert posted.status_code == 202, posted.text
        return await settled_incident(client, posted.json()["incident_ids"][0])

    def branch_files(self, branch: str) -> dict[str, str]:
        checkout = self.tmp / f"checkout-{branch.replace('/', '_')}"
        subprocess.run(["git", "clone", "-q", "-b", branch, self.repo_url, str(checkout)], check=True)
        return {str(p.relative_to(checkout)): p.read_text() for p in checkout.rglob("*.yaml")}

    def remote_branches(self) -> list[str]:
        out = subprocess.run(["git", "ls-remote", "--heads", self.repo_url], capture_output=True, text=True,
                             check=True).stdout
        return sorted(line.split("refs/heads/")[1] for line in out.splitlines())


async def decide(client: httpx.AsyncClient, incident_id: int, decision: str, approver: str = "alice",
                  **extra: Any) -> httpx.Response:
    pending = (await client.get(f"/incidents/{incident_id}/approval")).json()
    body = {"decision": decision, "approver": approver, "diff_hash": pending["diff_hash"], **extra}
    return await client.post(f"/incidents/{incident_id}/approval", json=body)


async def after_decision(client: httpx.AsyncClient, incident_id: int) -> dict[str, Any]:
    for _ in range(600):
        incident = (await client.get(f"/incidents/{incident_id}")).json()
        if incident["status"] != "awaiting_approval":
            return dict(incident)
        await asyncio.sleep(0.05)  # polling the API, as a person's client would
    raise AssertionError("the decision was never applied")


async def settled(client: httpx.AsyncClient, incident_id: int, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The incident once `done(incident)` holds (polled through the API with a deadline)."""
    for _ in range(600):
        incident = (await client.get(f"/incidents/{incident_id}")).json()
        if done(incident):
            return dict(incident)
        await asyncio.sleep(0.05)  # polling the API, as a person's client would
    raise AssertionError(f"incident {incident_id} never settled: {incident['status']} {incident['status_reason']}; "
                         + "; ".join(f"{e['kind']}: {e['message']}" for e in incident["timeline"][-8:]))


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    with github_standin() as running:
        yield running


@pytest.fixture
def flow(settings: Settings, sim_cluster: Callable[..., RunningSim], standin: GitHubStandIn, tmp_path: Path) -> Callable[..., Flow]:
    def build(scenario: str = "oom_memory_hog", **overrides: Any) -> Flow:
        sim = sim_cluster(scenario)
        repo_url = seed_bare_repo(sim.scenario.gitops.files, tmp_path / "gitops.git")
        configured = settings.model_copy(update={
            "kubeconfig": sim.kubeconfig_path, "webhook_token": SecretStr(TOKEN), "api_token": SecretStr(TOKEN),
            "gitops_repo_url": repo_url, "gitops_work_dir": tmp_path / "clones", "workers": 1,
            "github_token": SecretStr("ghp_standin"), "github_repo": "acme/gitops", "github_api_url": standin.url,
            "approvers": "alice,bob", **overrides})
        return Flow(sim, repo_url, configured, standin, tmp_path)

    return build
