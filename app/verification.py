"""Verify after merge: watch the fixed workload, then resolve (and say so on the PR) or reopen with a revert.

`VerificationRunner` is the `IncidentRunner` for work items of kind `verify` (queued when a PR is
merged; register it with `app.dispatch.KindRouter`). It looks at the workload through the read-only
toolset every `OPSGRAPH_VERIFY_POLL_SECONDS` until it is healthy for `OPSGRAPH_VERIFY_HEALTHY_CHECKS`
looks in a row, or the window (`OPSGRAPH_VERIFY_WINDOW_SECONDS`, counted from when the merge was
recorded) ends. What it concluded is written before anything is said about it, so a run resumed on
another worker finishes the comment and the transition without looking again or keeping a new window.

`PullRequestPoller` is the webhook's stand-in when none is configured: it asks GitHub about the PRs
of remediating incidents and feeds the same `PullRequestStore.record`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from agents.audit import AuditSink
from agents.context import ClusterRef, Context
from agents.errors import PermanentError, TemporaryError
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.registry import ToolRegistry
from agents.toolsets.shipped import default_registry
from agents.verification import HealthReport, WorkloadRef, check_workload, verifier
from app.clusters import ClusterRegistry
from app.incidents.pull_requests import PullRequestChange, PullRequestStore, Recorded
from app.incidents.queue import RunOutcome, WorkItem
from app.incidents.status import IncidentStatus
from app.incidents.store import IncidentStore
from app.integrations.github import GitHubClient
from app.periodic import PeriodicTask
from app.settings import Settings

if TYPE_CHECKING:
    from app.knowledge.memory import IncidentMemory
    from app.services import Services

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
GitHubFactory = Callable[[], GitHubClient]


def utcnow() -> datetime:
    return datetime.now(UTC)


def github_factory(settings: Settings) -> GitHubFactory | None:
    """A client per use for the configured repo; None without a token and repo (nothing to comment on)."""
    token, repo = settings.github_token, settings.github_repo
    if token is None or repo is None:
        return None
    return lambda: GitHubClient(settings.github_api_url, token.get_secret_value(), repo)


@dataclass(frozen=True)
class VerifyPolicy:
    window_seconds: float = 600.0
    poll_seconds: float = 30.0
    healthy_checks: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> VerifyPolicy:
        return cls(settings.verify_window_seconds, settings.verify_poll_seconds, settings.verify_healthy_checks)


class VerificationRunner:
    def __init__(self, incidents: IncidentStore, pull_requests: PullRequestStore, clusters: ClusterRegistry,
                 policy: VerifyPolicy, *, github: GitHubFactory | None = None, github_repo: str | None = None,
                 registry: ToolRegistry | None = None, audit: AuditSink | None = None,
                 clients: ClusterClients | None = None, clock: Clock = utcnow, sleep: Sleep = asyncio.sleep,
                 memory: IncidentMemory | None = None) -> None:
        self.incidents, self.pull_requests, self.clusters, self.policy = incidents, pull_requests, clusters, policy
        self.memory = memory  # incident memory: whether this fix held is remembered for the next diagnosis
        self.github, self.github_repo = github, github_repo
        self.registry = registry or default_registry()
        self.audit, self.clients = audit, clients or ClusterClients()
        self.clock, self.sleep = clock, sleep

    async def run(self, item: WorkItem, *, resume: bool) -> RunOutcome:
        row = await self.incidents.get(item.incident_id)
        if row["status"] != IncidentStatus.VERIFYING:
            return RunOutcome.done(f"incident {item.incident_id} is {row['status']}; nothing to verify")
        merge = await self.pull_requests.verification(item.incident_id)
        if merge is None:
            return RunOutcome.failed(f"incident {item.incident_id} is verifying but no merge is recorded")
        if merge["outcome"] is None:
            report = await self._watch(row, merge)
            outcome = "healthy" if report.verdict == "healthy" else "failing"
            await self.pull_requests.conclude(item.incident_id, outcome, report.summary, report.evidence())
            merge = await self.pull_requests.verification(item.incident_id)
            assert merge is not None
        try:
            outcome = await self._finish(row, merge)
        except TemporaryError as exc:  # the conclusion is stored: the retry only comments and transitions
            return RunOutcome.retry(str(exc), exc.delay)
        if self.memory is not None:  # idempotent: a retried item records the same row again
            await self.memory.remember(item.incident_id)
        return outcome

    async def _watch(self, row: dict[str, Any], merge: dict[str, Any]) -> HealthReport:
        workload = workload_of(row)
        if workload is None:
            return HealthReport("unknown", "the diagnosis names no workload to watch; a person must check")
        cluster = self.clusters.get(row["cluster"])
        if cluster is None:
            return HealthReport("unknown", self.clusters.unknown_reason(row["cluster"]) or "unknown cluster")
        context = Context(incident_id=str(row["id"]), cluster=ClusterRef(cluster.id, cluster.kubeconfig,
                                                                         cluster.context))
        executor = verifier(self.registry, context, audit=self.audit, clients=self.clients)
        deadline = merge["started_at"] + timedelta(seconds=self.policy.window_seconds)
        streak = 0
        while True:
            report = await check_workload(executor, workload, since=merge["merged_at"])
            streak = streak + 1 if report.verdict == "healthy" else 0
            remaining = (deadline - self.clock()).total_seconds()
            if streak >= self.policy.healthy_checks or remaining <= 0:
                return report
            log.info("incident %s: %s not verified yet: %s; looking again in %g s", row["id"], workload,
                     report.summary, min(self.policy.poll_seconds, remaining))
            await self.sleep(min(self.policy.poll_seconds, remaining))

    async def _finish(self, row: dict[str, Any], merge: dict[str, Any]) -> RunOutcome:
        incident_id, summary, evidence = int(row["id"]), merge["summary"], merge["evidence"] or {}
        workload = workload_of(row)
        where = f"{workload} on cluster {row['cluster']}"
        pr = f"pull request #{merge['pr_number']}" if merge["pr_number"] else "the merged change"
        if merge["outcome"] == "healthy":
            message = f"verified healthy: {summary} ({where}, after {pr} was merged)"
            await self._comment(incident_id, merge, f"verified healthy: {summary}\n\n{where}; "
                                                    f"opsgraph incident {incident_id} is resolved.")
            moved = await self.pull_requests.finish(incident_id, IncidentStatus.RESOLVED, message,
                                                    reason="verified healthy after the merge",
                                                    events=[("verified", message, evidence)])
            return RunOutcome.done(message if moved else f"incident {incident_id} already ended")
        commit = merge["merge_commit"]
        revert = f"git revert {commit}" if commit else None
        waited = f"{self.policy.window_seconds:g} s"
        message = (f"still failing {waited} after {pr} was merged: {summary} ({where}); "
                   + (f"proposed revert: `{revert}`" if revert else "no commit recorded to revert; a person decides"))
        await self._comment(incident_id, merge, f"not verified: {summary}\n\n{where}, {waited} after the merge. "
                                                + (f"opsgraph proposes reverting it: `{revert}`" if revert else ""))
        proposal = {"command": revert, "commit": commit, "pr": merge["pr_number"], "evidence": evidence,
                    "note": "a merge commit needs `-m 1`; a squash or rebase merge reverts as shown"}
        moved = await self.pull_requests.finish(incident_id, IncidentStatus.REOPENED, message,
                                                reason=f"fix did not make {workload} healthy",
                                                events=[("revert_proposed", message, proposal)])
        return RunOutcome.done(message if moved else f"incident {incident_id} already ended")

    async def _comment(self, incident_id: int, merge: dict[str, Any], body: str) -> None:
        """Say it on the PR once; a refusal is noted on the timeline, a GitHub outage retries the item."""
        if (self.github is None or merge["pr_number"] is None or merge["comment_url"] is not None
                or (merge["repo"] and self.github_repo and merge["repo"] != self.github_repo)):
            return
        try:
            async with self.github() as github:
                url = await github.comment(merge["pr_number"], body)
        except PermanentError as exc:
            await self.incidents.add_timeline(incident_id, "note", f"could not comment on pull request "
                                              f"#{merge['pr_number']}: {exc}; continuing", actor="opsgraph")
            return
        await self.pull_requests.set_comment(incident_id, url or "commented")
        await self.incidents.add_timeline(incident_id, "pr_comment", f"commented on pull request #{merge['pr_number']}",
                                          actor="opsgraph", data={"url": url})


def workload_of(row: dict[str, Any]) -> WorkloadRef | None:
    """The workload the fix was for: the diagnosis' first affected resource, else the alert's."""
    affected = ((row.get("diagnosis") or {}).get("affected") or [None])[0]
    if isinstance(affected, dict) and affected.get("kind") and affected.get("name") and affected.get("namespace"):
        return WorkloadRef(affected["kind"], affected["namespace"], affected["name"])
    if row.get("resource_kind") and row.get("resource_name") and row.get("namespace"):
        return WorkloadRef(row["resource_kind"], row["namespace"], row["resource_name"])
    return None


class PullRequestPoller:
    """Every `interval` seconds, ask GitHub about the PR of each remediating incident in `repo`."""

    def __init__(self, store: PullRequestStore, github: GitHubFactory, repo: str, interval: float, *,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.store, self.github, self.repo, self.interval, self.sleep = store, github, repo, interval, sleep
        self._task = PeriodicTask("pull request poll", interval, self._poll_and_log, sleep=sleep)

    async def poll_once(self) -> list[Recorded]:
        pending = await self.store.awaiting_merge(self.repo)
        if not pending:
            return []
        recorded = []
        async with self.github() as github:
            for incident_id, number in pending:
                try:
                    pr = await github.get_pull_request(number)
                except (PermanentError, TemporaryError) as exc:
                    log.warning("incident %s: could not read pull request #%s: %s; asking again in %g s",
                                incident_id, number, exc, self.interval)
                    continue
                if pr.state != "closed":
                    continue
                merged_at = datetime.fromisoformat(pr.merged_at.replace("Z", "+00:00")) if pr.merged_at else None
                change = PullRequestChange(self.repo, number, pr.head, pr.url, pr.state, pr.merged,
                                           pr.merge_commit_sha, pr.merged_by, merged_at)
                state = "merged" if pr.merged else "closed"
                recorded.append(await self.store.record(change, delivery=f"poll:{self.repo}#{number}:{state}",
                                                        event="pull_request", action="closed"))
        return recorded

    async def start(self) -> None:
        await self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def _poll_and_log(self) -> None:
        for change in await self.poll_once():
            log.info(change.message, extra={"incident": change.incident_id, "outcome": change.outcome})


def build_verification_runner(services: Services, *, clock: Clock = utcnow,
                              sleep: Sleep = asyncio.sleep) -> VerificationRunner:
    """The runner the lifespan registers for kind `verify` (see app.dispatch.KindRouter)."""
    from app.audit_store import ToolAuditStore

    from app.knowledge.memory import IncidentMemory
    from app.knowledge.setup import knowledge_base

    settings = services.settings
    store = PullRequestStore(services.database.pool, services.queue)
    memory = IncidentMemory(services.database.pool, knowledge_base(settings, services.database.pool))
    return VerificationRunner(services.incidents, store, services.clusters, VerifyPolicy.from_settings(settings),
                              github=github_factory(settings), github_repo=settings.github_repo,
                              audit=ToolAuditStore(services.database.pool), clock=clock, sleep=sleep, memory=memory)


def pr_poller(settings: Settings, store: PullRequestStore) -> PullRequestPoller | None:
    """The poller when merges must be found by asking: no webhook secret, a token and repo, a non-zero interval."""
    github = github_factory(settings)
    if settings.github_webhook_secret is not None or settings.pr_poll_seconds <= 0 or github is None:
        return None
    assert settings.github_repo is not None
    return PullRequestPoller(store, github, settings.github_repo, settings.pr_poll_seconds)
