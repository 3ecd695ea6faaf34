"""The rule engine: the skills' decision trees run without a model and produce the same `Diagnosis`.

The shared shell k8sgpt copies into every analyzer lives here once: a first cheap look at what the alert
names, skill matching, running steps (a templated tool call, then named checks), collecting errors
without sinking the run, and building the `Diagnosis`. A check holds only its predicate and wording.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from agents.diagnosis import Diagnosis, IncidentInput, ResourceRef
from agents.rules import pods, refs, targets
from agents.rules.replaced import replace_gone_pod
from agents.rules.conclusion import conclude
from agents.rules.registry import Check, checks
from agents.rules.run import Executor, Run
from agents.rules.workloads import top_owner
from agents.skills.loader import FOR_EACH_LIMIT, Skill, SkillSet, Step

log = logging.getLogger(__name__)

_VAR = re.compile(r"\{(\w+)\}")


def _template(step: Step, found: dict[str, str]) -> dict[str, Any] | None:
    """The step's arguments with variables filled in, or None while one is unknown."""
    if step.needs() - found.keys():
        return None
    args: dict[str, Any] = {}
    for key, value in step.args.items():
        if isinstance(value, str) and (whole := _VAR.fullmatch(value)):
            args[key] = found[whole.group(1)]
        elif isinstance(value, str):
            args[key] = _VAR.sub(lambda m: found[m.group(1)], value)
        else:
            args[key] = value
    return args


def _run_checks(run: Run, names: list[str], registry: dict[str, Check], skill: str) -> None:
    for name in names:
        try:
            finding = registry[name](run.facts)
        except Exception as exc:  # one broken check adds an error and does not sink the run (k8sgpt's runner)
            log.warning("check %s failed", name, exc_info=exc)
            run.errors.append(f"check {name} failed: {type(exc).__name__}: {exc}")
            continue
        if finding is not None and all(f[0] != finding for f in run.findings):
            run.findings.append((finding, name, skill))


async def _refresh(run: Run) -> None:
    """After each step: pick a focus pod if none is known, and learn what it tells (container, node, owner)."""
    if "pod" not in run.vars and (picked := targets.pick_pod(run.facts, run.vars)):
        run.vars["pod"] = picked
        await run.call("describe_pod", {"namespace": run.vars["namespace"], "name": picked})
    run.facts.focus.update({k: v for k, v in run.vars.items() if k not in run.facts.focus})
    run.vars.update(targets.from_pod(run.facts, run.vars))
    run.vars.update(targets.backend_pod(run.facts, run.vars))
    run.vars.update(targets.upstream(run.facts, run.vars))
    run.vars.update(targets.started_pod(run.facts, run.vars))
    run.vars.update(targets.from_ingress(run.facts, run.vars))
    run.vars.update(refs.variables(run.facts, run.vars.get("namespace")))
    if "replicaset" in run.vars and "deployment" not in run.vars:
        await run.call("describe_replicaset", {"namespace": run.vars["namespace"], "name": run.vars["replicaset"]})
        owner = top_owner(run.facts, ResourceRef(kind="ReplicaSet", namespace=run.vars["namespace"], name=run.vars["replicaset"]))
        if owner.kind == "Deployment":
            run.vars["deployment"] = owner.name
    if "deployment" in run.vars and "history" not in run.vars:
        # What ran before is where a fix value is backed by evidence (the env var a refactor dropped, the
        # command or image that worked), whichever skill runs: read once, as soon as the workload is known.
        run.vars["history"] = run.vars["deployment"]
        await run.call("get_rollout_history", {"namespace": run.vars["namespace"], "name": run.vars["deployment"]})
    run.facts.focus.update(run.vars)


async def _orient(run: Run) -> None:
    """The first cheap look: the pod the alert names, else the namespace's pods (a focus pod among them)."""
    if "pod" in run.vars:
        namespace = run.vars.get("namespace", "default")
        result = await run.call("describe_pod", {"namespace": namespace, "name": run.vars["pod"]})
        if not result.ok:
            gone = run.vars.pop("pod")
            run.facts.focus.pop("pod", None)
            if ("Pod", namespace, gone) in run.facts.missing:  # replaced since the alert fired: find its successor
                await replace_gone_pod(run, gone)
    if "pod" not in run.vars and "namespace" in run.vars and not {"node", "pvc", "hpa", "certificate"} & run.vars.keys():
        await run.call("list_pods", {"namespace": run.vars["namespace"]})
    await _refresh(run)


def _step_args(step: Step, found: dict[str, str]) -> list[dict[str, Any]]:
    """The calls a step makes: one, none while a variable is unknown, or one per item of its `for_each` list."""
    if not step.for_each:
        args = _template(step, found)
        return [args] if args is not None else []
    items = [item.strip() for item in found.get(step.for_each, "").split(",") if item.strip()]
    calls = (_template(step, {**found, "item": item}) for item in items[:FOR_EACH_LIMIT])
    return [args for args in calls if args is not None]


async def _run_skill(run: Run, skill: Skill, registry: dict[str, Check]) -> None:
    for step in skill.steps:
        for args in _step_args(step, run.vars):
            await run.call(step.tool, args)
            await _refresh(run)
        _run_checks(run, step.checks, registry, skill.name)  # a skipped call still lets the checks read the facts
        if run.confident():
            return


def _observed_reasons(run: Run) -> set[str]:
    focus = run.facts.get("Pod", run.vars.get("namespace"), run.vars.get("pod", ""))
    found = pods.reasons(focus, run.facts) if focus else set()
    if focus is None:
        for pod in pods.unhealthy_pods(run.facts):
            found |= pods.reasons(pod, run.facts)
    found |= {seen.obj.get("reason") for seen in run.facts.events if seen.obj.get("type") == "Warning"}
    return {r for r in found if r}


async def _resolve_owner(run: Run) -> None:
    """Make sure the best finding's pod, ReplicaSet or Job can be traced to its workload (pod -> RS ->
    Deployment, pod -> Job -> CronJob): a fix lands in the template the workload's owner keeps."""
    best = run.best()
    if best is None or best[0].subject.kind not in ("Pod", "ReplicaSet", "Job"):
        return
    owner = top_owner(run.facts, best[0].subject)
    if owner.kind == "ReplicaSet":
        await run.call("describe_replicaset", {"namespace": owner.namespace, "name": owner.name})
    elif owner.kind == "Job" and run.facts.get("Job", owner.namespace, owner.name) is None:
        await run.call("get_resource_yaml", {"kind": "Job", "namespace": owner.namespace, "name": owner.name})


async def run_rules(incident: IncidentInput, executor: Executor, skills: SkillSet) -> Diagnosis:
    """Diagnose an incident with the skills' decision trees; never raises for tool or check failures."""
    started = time.monotonic()
    run = Run(incident, executor, vars=targets.from_incident(incident))
    run.facts.focus.update(run.vars)
    registry = checks()
    await _orient(run)
    alerts = incident.alert_labels()
    matched = skills.match(alerts, _observed_reasons(run))
    for skill in [*matched, skills.base]:
        await _run_skill(run, skill, registry)
        if run.confident():
            break
    await _resolve_owner(run)
    diagnosis = conclude(run, matched)
    log.info("rules diagnosed %s as %s (%.2f) in %.0f ms with %d calls", incident.namespace, diagnosis.category,
             diagnosis.confidence, (time.monotonic() - started) * 1000, len(run.calls))
    return diagnosis
