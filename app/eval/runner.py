"""Run one scenario through the service: a fresh sim, the service on loopback, the scenario's alerts
posted to the webhook, then the incident's diagnosis read back over the API and compared."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agents.toolsets.gitops.repo import GitOpsRepo
from agents.toolsets.gitops.tree import RepoTree
from app.inprocess import serving
from app.settings import Settings
from sim.gitops import seed_bare_repo
from sim.health import namespace_problems, warning_counts
from sim.runtime import RunningSim, start_sim
from sim.scenario import Scenario, ScenarioError, load_scenario

SETTLED = {"awaiting_approval", "awaiting_human", "remediating", "resolved", "failed", "cancelled"}
DIAGNOSIS_DEADLINE_SECONDS = 120.0


@dataclass
class EvalRow:
    scenario: str
    run: int = 0
    ok: bool = False
    category_ok: bool = False
    resource_ok: bool = False
    expected: str = ""
    got: str = ""
    steps: int = 0
    tool_calls: int = 0
    tokens: int = 0
    seconds: float = 0.0
    incidents: int = 0
    fix: str = "-"  # "ok", "FAIL" or "-" (the scenario has no fix to check)
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _resource(ref: dict[str, Any] | None) -> str:
    if not ref:
        return "-"
    return f"{ref.get('kind')}/{ref.get('namespace') or ''}/{ref.get('name')}"


def judge(scenario: Scenario, diagnosis: dict[str, Any], row: EvalRow) -> None:
    """Category and affected resource against `expect`; an escalate-only fault must go to a person."""
    expect = scenario.expect
    want = expect.resource.model_dump() if expect.resource is not None else None
    affected = (diagnosis.get("affected") or [None])[0]
    row.expected = f"{expect.category} {_resource(want)}"
    row.got = f"{diagnosis['category']} {_resource(affected)}"
    row.category_ok = diagnosis["category"] == expect.category
    row.resource_ok = want is None or (affected is not None and all(
        (affected.get(k) or None) == (want.get(k) or None) for k in ("kind", "namespace", "name")))
    escalated_ok = not getattr(expect, "escalate", False) or bool(diagnosis.get("needs_human"))
    row.ok = row.category_ok and row.resource_ok and escalated_ok
    if not escalated_ok:
        row.error = "expected an escalation to a person"


def invalid_row(path: Path) -> EvalRow | None:
    """A failed row naming the file and field when the scenario does not validate, else None."""
    try:
        load_scenario(path)
    except ScenarioError as exc:
        return EvalRow(scenario=path.stem, error=f"invalid scenario: {exc}")
    return None


async def eval_scenario(path: Path, base: Settings, run: int = 0) -> EvalRow:
    row = EvalRow(scenario=path.stem, run=run)
    scenario = load_scenario(path)
    if not scenario.alerts:
        from app.eval.direct import diagnose_directly

        return await diagnose_directly(scenario, base, row)
    cluster = f"eval-{scenario.name}-{run}-{secrets.token_hex(3)}"
    token = secrets.token_urlsafe(16)
    with start_sim(scenario) as sim, tempfile.TemporaryDirectory(prefix="opsgraph-eval-") as tmp:
        fixable = bool(scenario.gitops.files) and scenario.expect.fix is not None and not scenario.expect.escalate
        repo_url = seed_bare_repo(scenario.gitops.files, Path(tmp) / "gitops.git") if fixable else None
        settings = base.model_copy(update={
            "kubeconfig": sim.kubeconfig_path, "default_cluster": cluster, "workers": 2,
            "webhook_token": _secret(token), "api_token": _secret(token), "k8s_events_enabled": False,
            "gitops_repo_url": repo_url, "gitops_work_dir": Path(tmp) / "clones", "approvers": "",
            "github_token": None})
        async with serving(settings) as url, httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            from app.eval.payload import webhook_payload

            started = time.monotonic()
            posted = await client.post("/webhooks/alertmanager", json=webhook_payload(
                [a.model_dump(mode="json", exclude_none=True) for a in scenario.alerts],
                cluster=cluster, cluster_label=settings.cluster_label))
            if posted.status_code != 202:
                row.error = f"webhook answered {posted.status_code}: {posted.text[:200]}"
                return row
            ids = posted.json()["incident_ids"]
            incidents = await asyncio.gather(*(settled_incident(client, i) for i in ids))
            row.seconds = round(time.monotonic() - started, 3)
            row.incidents = len(incidents)
            best = _score(scenario, incidents, row)
            if fixable and best is not None:
                await _check_fix(client, sim, scenario, best, Path(tmp), row)
    return row


async def _check_fix(client: httpx.AsyncClient, sim: RunningSim, scenario: Scenario, incident: dict[str, Any],
                     tmp: Path, row: EvalRow) -> None:
    """Approve the proposed change, sync its branch to the cluster as a GitOps controller would, and
    check the workload became healthy with no new warnings."""
    row.fix = "FAIL"
    if incident["status"] != "awaiting_approval":
        row.details["fix"] = f"no change proposed ({incident['status']}: {incident.get('status_reason')})"
        return
    pending = (await client.get(f"/incidents/{incident['id']}/approval")).json()
    await client.post(f"/incidents/{incident['id']}/approval", json={
        "decision": "approve", "approver": "opsgraph-eval", "diff_hash": pending["diff_hash"]})
    deadline = time.monotonic() + DIAGNOSIS_DEADLINE_SECONDS
    while (incident := (await client.get(f"/incidents/{incident['id']}")).json())["status"] == "awaiting_approval":
        if time.monotonic() > deadline:
            row.details["fix"] = "the approval was never applied"
            return
        await asyncio.sleep(0.05)  # polling the API, as a person's client would
    if not incident.get("pr"):
        row.details["fix"] = f"no pull request ({incident['status']}: {incident.get('status_reason')})"
        return
    repo = GitOpsRepo(str(tmp / "gitops.git"), tmp / "verify", base_branch=incident["pr"]["base"])
    await asyncio.to_thread(repo.checkout_branch, incident["pr"]["branch"])
    objects = [rendered.obj for rendered in RepoTree(await asyncio.to_thread(repo.tree)).render()]
    before = warning_counts(sim.store)
    sim.sync(objects)
    namespace = scenario.expect.resource.namespace if scenario.expect.resource else None
    problems = namespace_problems(sim.store, namespace)
    after = warning_counts(sim.store)
    new = sorted(name for name, count in after.items() if before.get(name) != count)
    if new:
        problems.append(f"new warnings after the fix: {', '.join(new[:3])}")
    row.details["fix"] = "; ".join(problems) or f"healthy after {incident['pr']['branch']}"
    row.fix = "FAIL" if problems else "ok"


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


def _score(scenario: Scenario, incidents: list[dict[str, Any]], row: EvalRow) -> dict[str, Any] | None:
    """The best-matching incident decides the row; its timeline gives steps, calls and tokens."""
    candidates = []
    for incident in incidents:
        if not incident.get("diagnosis"):
            continue
        trial = EvalRow(scenario=row.scenario)
        judge(scenario, incident["diagnosis"], trial)
        candidates.append((trial.ok, trial.category_ok, trial, incident))
    if not candidates:
        reasons = [i.get("status_reason") for i in incidents]
        row.error = f"no diagnosis recorded (incident status: {[i['status'] for i in incidents]}, {reasons})"
        return None
    _, _, best, incident = max(candidates, key=lambda c: (c[0], c[1]))
    for name in ("ok", "category_ok", "resource_ok", "expected", "got", "error"):
        setattr(row, name, getattr(best, name))
    budget = next((e["data"].get("budget") for e in reversed(incident.get("timeline") or [])
                   if e["kind"] == "diagnosis" and e.get("data")), None) or {}
    row.steps = int(budget.get("steps", 0))
    row.tool_calls = int(budget.get("tool_calls", 0))
    row.tokens = int(budget.get("tokens", 0))
    row.details = {"incident": incident["id"], "root_cause": incident["diagnosis"].get("root_cause")}
    return dict(incident)
