"""`opsgraph demo`: the whole story on embedded defaults, with nothing configured.

An embedded Postgres, a simulated cluster running the scenario, a local bare git repo seeded with
the scenario's GitOps files, and the service on loopback. The scenario's alert is posted to the
webhook as Alertmanager would; the diagnosis, the plan and its diff are read back over the API; a
person approves on the console (or `--yes` does); the service pushes a branch and records the pull
request; the changed manifests are synced to the simulated cluster, which shows the workload healthy.
It runs in its own database (OPSGRAPH_DEMO_DATABASE), never the one `opsgraph serve` uses, prints the
API token it made up so a person can use the API too, and cancels the incident it opened when the
story ends (its cluster and repository end with it).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

import httpx
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr

from agents.toolsets.gitops.repo import GitOpsRepo
from agents.toolsets.gitops.tree import RepoTree
from app.eval.payload import webhook_payload
from app.eval.report import shared_database
from app.eval.runner import close_open_incidents, settled_incident
from app.inprocess import serving
from app.monitoring.derived import DerivedAlerts
from app.monitoring.pipeline import ScrapeTarget, Webhook, free_port, start_monitoring
from app.observability import configure_logging
from app.settings import Settings
from app.slack.service import card_destination
from sim.gitops import seed_bare_repo
from sim.health import namespace_problems
from sim.runtime import RunningSim, start_sim
from sim.scenario import find_scenario
from sim.tables import pod_status

Say = Callable[[str], None]


def run_demo(settings: Settings, *, scenario: str, unattended: bool, port: int, out: TextIO = sys.stdout,
             monitoring: bool = False) -> int:
    return asyncio.run(_demo(settings, scenario=scenario, unattended=unattended, port=port, out=out,
                             monitoring=monitoring))


async def _demo(settings: Settings, *, scenario: str, unattended: bool, port: int, out: TextIO,
                monitoring: bool = False) -> int:
    configure_logging("WARNING", "text")  # the demo talks to a person; the service's logs stay quiet
    started = time.monotonic()

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    token = secrets.token_urlsafe(16)
    with start_sim(find_scenario(scenario)) as cluster, tempfile.TemporaryDirectory(prefix="opsgraph-demo-") as tmp, \
            contextlib.ExitStack() as stack:
        repo_url = seed_bare_repo(cluster.scenario.gitops.files, Path(tmp) / "gitops.git")
        say(f"simulated cluster '{cluster.scenario.name}' at {cluster.url}")
        say(f"  kubeconfig: {cluster.kubeconfig_path}")
        say(f"  {cluster.scenario.description.strip().splitlines()[0]}")
        where = "embedded Postgres in " + str(settings.data_dir) if settings.database_url is None else "DATABASE_URL"
        async with shared_database(settings) as shared:
            demo_settings = shared.model_copy(update={
                "kubeconfig": cluster.kubeconfig_path, "workers": 1, "k8s_events_enabled": False,
                # Each demo is its own cluster, so it never joins an incident left by an earlier one.
                "default_cluster": f"demo-{int(time.time())}", "gitops_repo_url": repo_url,
                "gitops_work_dir": Path(tmp) / "clones", "approvers": "",
                "webhook_token": settings.webhook_token or SecretStr(token),
                "api_token": settings.api_token or SecretStr(token)})
            pipeline = None
            if monitoring:
                # Prometheus and Alertmanager first, so the service starts with its Prometheus URL; Alertmanager
                # retries its posts until the service listens on the port chosen here.
                port = port or free_port()
                pipeline = stack.enter_context(start_monitoring(
                    [ScrapeTarget(cluster.url, demo_settings.default_cluster)],
                    webhook=Webhook(f"http://127.0.0.1:{port}/webhooks/alertmanager",
                                    demo_settings.webhook_token.get_secret_value() if demo_settings.webhook_token else None)))
                demo_settings = demo_settings.model_copy(update={"prometheus_url": pipeline.prometheus_url})
                say(f"Prometheus at {pipeline.prometheus_url} (kubernetes-mixin rules, test profile), Alertmanager at "
                    f"{pipeline.alertmanager_url}")
            async with serving(demo_settings, port=port) as url:
                say(f"opsgraph service at {url} ({where}, database {_database_name(shared)})")
                _show_api_token(url, settings, token, say)
                opened = await tell_story(url, cluster, demo_settings, say, approve=_approver(unattended, say),
                                          derived=DerivedAlerts(pipeline) if pipeline is not None else None)
                await _close(url, demo_settings, opened, say)
                say(f"demo told in {time.monotonic() - started:.1f} s")
                if not unattended:
                    say("the service keeps running; Ctrl-C stops it, the cluster and the database.")
                    await asyncio.Event().wait()
    return 0


def _database_name(settings: Settings) -> str:
    assert settings.database_url is not None
    return str(conninfo_to_dict(settings.database_url.get_secret_value()).get("dbname", ""))


def _show_api_token(url: str, configured: Settings, token: str, say: Say) -> None:
    """How a person reaches the demo's API themselves (the token is made up for this demo unless configured)."""
    shown = "$OPSGRAPH_API_TOKEN" if configured.api_token is not None else token
    if configured.api_token is None:
        say(f"  API token for this demo: {token}")
    say(f"  try: curl -H 'Authorization: Bearer {shown}' {url}/incidents")


async def _close(url: str, settings: Settings, incident_ids: list[int], say: Say) -> None:
    assert settings.api_token is not None
    async with httpx.AsyncClient(base_url=url, timeout=30, headers={
            "Authorization": f"Bearer {settings.api_token.get_secret_value()}"}) as client:
        await close_open_incidents(client, incident_ids, "demo finished: its simulated cluster and GitOps "
                                                         "repository end with it")
        for incident_id in incident_ids:
            incident = (await client.get(f"/incidents/{incident_id}")).json()
            say(f"incident {incident_id} closed: {incident['status']} ({incident.get('status_reason')})")


async def tell_story(url: str, cluster: RunningSim, settings: Settings, say: Say,
                     approve: Callable[[], Awaitable[bool]], derived: DerivedAlerts | None = None) -> list[int]:
    """The story from alert to synced fix; returns the incidents the alerts opened."""
    _show_pods(cluster, say)
    assert settings.webhook_token is not None and settings.api_token is not None
    alerts = [a.model_dump(mode="json", exclude_none=True) for a in cluster.scenario.alerts]
    payload = webhook_payload(alerts, cluster=settings.default_cluster, cluster_label=settings.cluster_label)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        if derived is None:
            hook = {"Authorization": f"Bearer {settings.webhook_token.get_secret_value()}"}
            accepted = (await client.post("/webhooks/alertmanager", json=payload, headers=hook)).json()
            names = ", ".join(a["labels"]["alertname"] for a in alerts)
            say(f"\nAlertmanager -> POST /webhooks/alertmanager ({names}): incident {accepted['incident_ids']}")
            client.headers["Authorization"] = f"Bearer {settings.api_token.get_secret_value()}"
            incident_ids = accepted["incident_ids"]
        else:
            client.headers["Authorization"] = f"Bearer {settings.api_token.get_secret_value()}"
            incident_ids = await derived.opened_incidents(client, settings.default_cluster)
            fired = sorted({a["labels"]["alertname"] for a in derived.pipeline.alerts()})
            say(f"\nPrometheus fired {', '.join(fired) or 'nothing'}; Alertmanager -> POST /webhooks/alertmanager: "
                f"incident(s) {incident_ids}")
            if not incident_ids:
                return []
        incident = await settled_incident(client, incident_ids[0])
        _show_diagnosis(incident, say)
        say(f"  slack: {card_destination(settings, incident)}")
        if incident["status"] != "awaiting_approval":
            say(f"no change proposed: {incident.get('status_reason')}")
            return list(incident_ids)
        pending = (await client.get(f"/incidents/{incident['id']}/approval")).json()
        say(f"\nproposed change {pending['diff_hash'][:12]} (risk {pending['risk']}):")
        for step in pending["steps"]:
            say(f"  {step['file']}: {step['field_path']}: {step['old_value']!r} -> {step['new_value']!r}")
        say("".join(f"  {line}\n" for line in pending["diff"].splitlines()).rstrip())
        decision = "approve" if await approve() else "reject"
        await client.post(f"/incidents/{incident['id']}/approval", json={
            "decision": decision, "approver": "demo-operator", "diff_hash": pending["diff_hash"]})
        while (incident := (await client.get(f"/incidents/{incident['id']}")).json())["status"] == "awaiting_approval":
            await asyncio.sleep(0.05)  # polling the API, as a person's client would
    if decision == "reject":
        say(f"rejected: {incident.get('status_reason')}")
        return list(incident_ids)
    pr = incident.get("pr") or {}
    say(f"\n{decision}d -> branch {pr.get('branch')} pushed (commit {str(pr.get('commit'))[:12]}); "
        f"pull request: {pr.get('url')}" + (f"  [{pr['note']}]" if pr.get("note") else ""))
    await _sync_branch(cluster, settings, pr, say)
    if derived is not None:
        async with httpx.AsyncClient(base_url=url, timeout=30, headers={
                "Authorization": f"Bearer {settings.api_token.get_secret_value()}"}) as client:
            unresolved = await derived.unresolved(client, incident_ids)
        say("Alertmanager -> resolved notification: every alert of the incident resolved" if not unresolved
            else "not resolved: " + "; ".join(unresolved))
    return list(incident_ids)


async def _sync_branch(cluster: RunningSim, settings: Settings, pr: dict[str, Any], say: Say) -> None:
    """What Argo CD or Flux does once the pull request is merged: apply the branch to the cluster."""
    assert settings.gitops_repo_url is not None and settings.gitops_work_dir is not None
    repo = GitOpsRepo(settings.gitops_repo_url, settings.gitops_work_dir / "merged", base_branch=pr["base"])
    await asyncio.to_thread(repo.checkout_branch, pr["branch"])
    objects = [rendered.obj for rendered in RepoTree(await asyncio.to_thread(repo.tree)).render()]
    synced = cluster.sync(objects)
    namespace = cluster.scenario.expect.resource.namespace if cluster.scenario.expect.resource else None
    problems = [f"sync refused: {why}" for why in synced.refused] or namespace_problems(cluster.store, namespace)
    say("merged and synced to the cluster (as a GitOps controller would):")
    _show_pods(cluster, say)
    say("workload healthy" if not problems else "still unhealthy: " + "; ".join(problems))


def _show_pods(cluster: RunningSim, say: Say) -> None:
    say("pods in the simulated cluster:")
    for pod in cluster.store.list("Pod"):
        status, ready, total, restarts, _ = pod_status(pod)
        meta = pod["metadata"]
        say(f"  {meta['namespace']:<14} {meta['name']:<40} {ready}/{total}  {status:<18} restarts={restarts}")


def _approver(unattended: bool, say: Say) -> Callable[[], Awaitable[bool]]:
    async def ask() -> bool:
        if unattended:
            say("approve? [y/N] y  (--yes)")
            return True
        answer = await asyncio.to_thread(input, "approve this change? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    return ask


def _show_diagnosis(incident: dict[str, Any], say: Say) -> None:
    diagnosis = incident.get("diagnosis") or {}
    say(f"incident {incident['id']} ({incident['priority']}, {incident['status']}): {diagnosis.get('category')} "
        f"(confidence {diagnosis.get('confidence', 0):.2f}, {diagnosis.get('source')})")
    say(f"  root cause: {diagnosis.get('root_cause')}")
    for item in (diagnosis.get("evidence") or [])[:3]:
        say(f"  evidence [{item['tool']}]: {item['excerpt'][:120]}")
    for fix in diagnosis.get("suggested_fixes") or []:
        say(f"  proposed fix: {fix['resource']['kind']}/{fix['resource']['name']} {fix['field_path']} -> "
            f"{fix['new_value']}  ({fix['rationale']})")
    say("  timeline: " + " -> ".join(e["kind"] for e in incident.get("timeline") or []))
