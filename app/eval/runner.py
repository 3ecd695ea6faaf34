"""Run one scenario through the service: a fresh sim, the service on loopback, the scenario's alerts
posted to the webhook; every incident's diagnosis read back over the API, every proposed change
approved and its pull request synced to the cluster as a GitOps controller would. What was observed
is judged by `app/eval/verdict.py`."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from agents.taxonomy import CATEGORIES
from agents.toolsets.gitops.documents import ManifestParseError, load_documents
from agents.toolsets.gitops.repo import GitOpsRepo
from agents.toolsets.gitops.tree import RepoTree
from agents.toolsets.gitops.validate import schema_problems
from app.eval.direct import diagnose_directly
from app.eval.row import EvalRow, describe
from app.eval.symptoms import Scope, alert_scope, firing, remaining_symptoms
from app.eval.verdict import PullRequestOutcome, judge
from app.inprocess import serving
from app.monitoring.derived import derived_alerts
from app.settings import Settings
from sim.gitops import seed_bare_repo
from sim.health import namespace_problems, warning_counts
from sim.resources import by_stored_kind
from sim.runtime import RunningSim, start_sim
from sim.scenario import Scenario, ScenarioError, load_scenario

SETTLED = {"awaiting_approval", "awaiting_human", "remediating", "resolved", "failed", "cancelled"}
DIAGNOSIS_DEADLINE_SECONDS = 120.0


def invalid_row(path: Path) -> EvalRow | None:
    """A failed row naming the file and field when the scenario does not validate, else None."""
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        return EvalRow(scenario=path.stem, error=f"invalid scenario: {exc}")
    if scenario.expect.category not in CATEGORIES:
        return EvalRow(scenario=path.stem, error=f"invalid scenario: {path}: expect.category: "
                       f"{scenario.expect.category!r} is not a known category (one of: {', '.join(CATEGORIES)})")
    return None


async def eval_scenario(path: Path, base: Settings, run: int = 0, alerts: str = "file") -> EvalRow:
    return await eval_loaded(load_scenario(path), base, run, label=path.stem, alerts=alerts)


async def eval_loaded(scenario: Scenario, base: Settings, run: int = 0, label: str | None = None,
                      alerts: str = "file") -> EvalRow:
    """`alerts="derived"`: the kubernetes-mixin alerts come from real Prometheus and Alertmanager on the
    sim's metrics (app/monitoring/derived.py), a team's own alerts (`source: team`) from the file."""
    row = EvalRow(scenario=label or scenario.name, run=run)
    if not scenario.alerts:
        return await diagnose_directly(scenario, base, row)
    cluster = f"eval-{scenario.name[:40]}-{run}-{secrets.token_hex(3)}"
    token = secrets.token_urlsafe(16)
    with start_sim(scenario) as sim, tempfile.TemporaryDirectory(prefix="opsgraph-eval-") as tmp:
        # Every scenario with manifests gets its repository, including those that expect a person: a pull
        # request there is a wrong answer the verdict must see.
        repo_url = seed_bare_repo(scenario.gitops.files, Path(tmp) / "gitops.git") if scenario.gitops.files else None
        settings = base.model_copy(update={
            "kubeconfig": sim.kubeconfig_path, "default_cluster": cluster, "workers": 2,
            "webhook_token": _secret(token), "api_token": _secret(token), "k8s_events_enabled": False,
            "gitops_repo_url": repo_url, "gitops_work_dir": Path(tmp) / "clones", "approvers": "",
            "github_token": None, "registry_mirrors": [f"*={sim.url}"]})
        async with serving(settings) as url, httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client, \
                derived_alerts(sim, url, token, cluster, enabled=alerts == "derived") as derived:
            from app.eval.payload import webhook_payload

            started = time.monotonic()
            posted_alerts = [a for a in scenario.alerts if derived is None or a.source == "team"]
            ids = []
            if posted_alerts:
                posted = await client.post("/webhooks/alertmanager", json=webhook_payload(
                    [a.model_dump(mode="json", exclude_none=True) for a in posted_alerts],
                    cluster=cluster, cluster_label=settings.cluster_label))
                if posted.status_code != 202:
                    row.error = f"webhook answered {posted.status_code}: {posted.text[:200]}"
                    return row
                ids = posted.json()["incident_ids"]
            if derived is not None:
                ids = sorted(set(ids) | set(await derived.opened_incidents(client, cluster)))
                if not ids:
                    row.error = "the monitoring pipeline opened no incident"
                    return row
            incidents = list(await asyncio.gather(*(settled_incident(client, i) for i in ids)))
            row.seconds = round(time.monotonic() - started, 3)
            row.incidents = len(incidents)
            _account(scenario, incidents, row)
            # Every proposed change is approved, as a person trusting the proposal would: what it does is judged.
            incidents = [await _approved(client, incident) for incident in incidents]
            outcomes = []
            if repo_url is not None:
                # Every pull request is merged (in turn, as a person merging them would), then the cluster is
                # looked at once: with two faults, the first fix alone cannot clear the second's alerts.
                scopes_before = alert_scopes(sim, scenario)
                warnings_before = warning_counts(sim.store)
                for incident in incidents:
                    if incident.get("pr"):
                        outcomes.append(await pull_request_outcome(sim, scenario, incident, Path(tmp), scopes_before,
                                                                   observe=False))
                observed = observe_after_sync(sim, scenario, scopes_before, warnings_before)
                for outcome in outcomes:
                    if not outcome.refused:
                        outcome.symptoms, outcome.problems = observed
            verdict = judge(scenario, incidents, outcomes)
            if derived is not None and any(not o.refused for o in outcomes):
                unresolved = await derived.unresolved(client, [int(i["id"]) for i in incidents], frozenset(
                    a.labels["alertname"] for a in scenario.alerts if a.source == "team"))
                verdict.reasons.extend(unresolved)
                verdict.ok = verdict.ok and not unresolved
            row.take(verdict)
            row.details["pull_requests"] = [o.branch for o in outcomes]
            await close_open_incidents(client, ids, f"eval of {row.scenario} finished; its simulated cluster is gone")
    return row


def _account(scenario: Scenario, incidents: list[dict[str, Any]], row: EvalRow) -> None:
    """Expected/got columns and the budget figures, from the first diagnosed incident."""
    diagnosed = [i for i in incidents if i.get("diagnosis")]
    describe(scenario, diagnosed[0]["diagnosis"] if diagnosed else None, row)
    if not diagnosed:
        return
    incident = diagnosed[0]
    budget = next((e["data"].get("budget") for e in reversed(incident.get("timeline") or [])
                   if e["kind"] == "diagnosis" and e.get("data")), None) or {}
    row.steps = int(budget.get("steps", 0))
    row.tool_calls = int(budget.get("tool_calls", 0))
    row.tokens = int(budget.get("tokens", 0))
    row.details = {"incidents": [i["id"] for i in incidents], "root_cause": incident["diagnosis"].get("root_cause")}


async def _approved(client: httpx.AsyncClient, incident: dict[str, Any]) -> dict[str, Any]:
    """Approve a proposed change and wait until it was delivered (or refused); other incidents as they are."""
    if incident["status"] != "awaiting_approval":
        return incident
    pending = (await client.get(f"/incidents/{incident['id']}/approval")).json()
    await client.post(f"/incidents/{incident['id']}/approval", json={
        "decision": "approve", "approver": "opsgraph-eval", "diff_hash": pending["diff_hash"]})
    deadline = time.monotonic() + DIAGNOSIS_DEADLINE_SECONDS
    while (incident := (await client.get(f"/incidents/{incident['id']}")).json())["status"] == "awaiting_approval":
        if time.monotonic() > deadline:
            return dict(incident)
        await asyncio.sleep(0.05)  # polling the API, as a person's client would
    return dict(incident)


def alert_scopes(sim: RunningSim, scenario: Scenario) -> list[Scope]:
    ref = scenario.expect.resource
    fallback = Scope(ref.namespace, ref.kind, ref.name) if ref is not None else Scope(None, None, None)
    alerts = firing([a.model_dump() for a in scenario.alerts])
    with sim.store.lock:
        return [alert_scope(sim.store, labels, fallback) for labels in alerts]


def run_fixed_cronjobs(sim: RunningSim, scopes: list[Scope]) -> list[Scope]:
    """A CronJob's fix shows in its next run, not in the Job that already failed (that one stays failed
    until someone deletes it). As a person would, run each CronJob an alert is about once now
    (`kubectl create job --from=cronjob/...`) and judge that Job instead."""
    runs: dict[tuple[str | None, str], str | None] = {}
    judged = []
    for scope in scopes:
        cronjob = None
        if scope.kind == "CronJob":
            cronjob = scope.name
        elif scope.kind == "Job" and scope.name:
            job = sim.store.get("Job", scope.namespace, scope.name) or {}
            cronjob = next((r.get("name") for r in job.get("metadata", {}).get("ownerReferences") or []
                            if r.get("kind") == "CronJob"), None)
        if cronjob is None or scope.namespace is None:
            judged.append(scope)
            continue
        key = (scope.namespace, cronjob)
        if key not in runs:
            runs[key] = sim.create_job_from_cronjob(scope.namespace, cronjob)
        judged.append(Scope(scope.namespace, "Job", runs[key]) if runs[key] else scope)
    return judged


def _rendered(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The repository's objects by Kind/namespace/name, namespaced kinds defaulting to `default` as kubectl does."""
    out = {}
    for item in RepoTree(files).render():
        kind = by_stored_kind(item.kind)
        namespace = (item.namespace or "default") if kind is None or kind.namespaced else ""
        out[f"{item.kind}/{namespace}/{item.name}"] = item.obj
    return out


def _parse_error(path: str, text: str) -> str | None:
    if not path.endswith((".yaml", ".yml")):
        return None
    try:
        load_documents(path, text)
    except ManifestParseError as exc:
        return str(exc)
    return None


def _changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        paths = []
        for key in sorted(set(old) | set(new), key=str):
            if old.get(key) != new.get(key):
                paths.extend(_changed_paths(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key)))
        return paths
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        paths = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                label = b.get("name", index) if isinstance(b, dict) else index
                paths.extend(_changed_paths(a, b, f"{prefix}[{label}]"))
        return paths
    return [prefix]


async def pull_request_outcome(sim: RunningSim, scenario: Scenario, incident: dict[str, Any], tmp: Path,
                               scopes: list[Scope], *, observe: bool = True) -> PullRequestOutcome:
    """Merge the pull request's branch as a GitOps controller would sync it, and (with `observe`) look at the
    cluster afterwards."""
    branch = incident["pr"]["branch"]
    outcome = PullRequestOutcome(incident=incident["id"], branch=branch)
    repo = GitOpsRepo(str(tmp / "gitops.git"), tmp / f"verify-{incident['id']}", base_branch=incident["pr"]["base"])
    await asyncio.to_thread(repo.checkout_branch, branch)
    before = _rendered(scenario.gitops.files)
    files = await asyncio.to_thread(repo.tree)
    # A file that no longer parses fails the sync; it does not silently prune what it held.
    outcome.refused = [f"{path}: {exc}" for path, text in sorted(files.items())
                       if scenario.gitops.files.get(path) != text and (exc := _parse_error(path, text))]
    if outcome.refused:
        return outcome
    after = _rendered(files)
    outcome.added = sorted(set(after) - set(before))
    outcome.removed = sorted(set(before) - set(after))
    outcome.changed = {key: _changed_paths(before[key], after[key]) for key in sorted(set(before) & set(after))
                       if before[key] != after[key]}
    version = scenario.kubernetes_version.lstrip("v").rsplit(".", 1)[0]
    for key in [*outcome.changed, *outcome.added]:
        outcome.refused.extend(f"{key}: {path}: {message}"
                               for path, message in schema_problems(after[key], version))
    if outcome.refused:
        return outcome
    warnings_before = warning_counts(sim.store)
    result = await asyncio.to_thread(sim.sync, list(after.values()), list(before.values()))
    outcome.refused.extend(result.refused)
    if observe and not outcome.refused:
        outcome.symptoms, outcome.problems = observe_after_sync(sim, scenario, scopes, warnings_before)
    return outcome


def observe_after_sync(sim: RunningSim, scenario: Scenario, scopes: list[Scope],
                       warnings_before: dict[str, int]) -> tuple[list[str], list[str]]:
    """(alert conditions still true, namespace problems and new warnings) once the fixes are synced."""
    scopes = run_fixed_cronjobs(sim, scopes)
    with sim.store.lock:
        symptoms = remaining_symptoms(sim.store, sim.controller.read_log,
                                      firing([a.model_dump() for a in scenario.alerts]), scopes)
        namespaces = {f.resource.namespace for f in [scenario.expect, *scenario.more_faults] if f.resource}
        problems = [p for namespace in sorted(namespaces, key=str) for p in namespace_problems(sim.store, namespace)]
        after_warnings = warning_counts(sim.store)
    new = sorted(name for name, count in after_warnings.items() if warnings_before.get(name) != count)
    if new:
        problems.append(f"new warnings after the fix: {', '.join(new[:3])}")
    return symptoms, problems


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


async def settled_incident(client: httpx.AsyncClient, incident_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + DIAGNOSIS_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        incident = (await client.get(f"/incidents/{incident_id}")).json()
        if incident["status"] in SETTLED:
            return dict(incident)
        await asyncio.sleep(0.05)  # polling the API, as a person's client would
    raise TimeoutError(f"incident {incident_id} not diagnosed within {DIAGNOSIS_DEADLINE_SECONDS:.0f} s")


async def close_open_incidents(client: httpx.AsyncClient, incident_ids: list[int], reason: str) -> None:
    """Cancel what a demo or eval run opened and did not end (a pushed branch nobody will merge, a question
    nobody will answer), so no incident is left `remediating` once the run's cluster is gone."""
    for incident_id in incident_ids:
        reply = await client.post(f"/incidents/{incident_id}/cancel", json={"reason": reason})
        if reply.status_code not in (200, 409):  # 409: it had ended by itself
            raise RuntimeError(f"cancelling incident {incident_id} answered {reply.status_code}: {reply.text[:200]}")
