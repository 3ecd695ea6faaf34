"""The strict verdict: one scenario's outcome judged against its `expect`. This module only judges; what it
judges (the incidents as the API shows them, and what each pull request did to the cluster) is gathered
by `app/eval/runner.py`.

A row passes only when all of these hold:
- **diagnosis**: every diagnosed incident names the expected category and affected resource, with
  evidence, a confidence that claims a cause (not below the tier that sends it to a person), and it names
  the object that holds the cause (the fix's target, when that is not the alerting resource);
- **escalation**: a scenario that expects a person gets one (no pull request), and one that expects a fix
  is not handed over;
- **fix** (where a fix is expected): exactly one pull request; it changes the expected object (and the
  expected field, unless the scenario accepts other changes), is not a no-op, syncs the way a GitOps
  controller applies it (immutable fields and invalid objects refused), and afterwards the scenario's own
  symptom is gone (the alerts' conditions no longer hold) with the namespace healthy and no new warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agents.taxonomy import CATEGORIES, NEEDS_HUMAN_BELOW
from sim.scenario import Scenario


@dataclass
class PullRequestOutcome:
    """What one pull request did, as the evaluator observed it."""

    incident: int
    branch: str
    changed: dict[str, list[str]] = field(default_factory=dict)  # Kind/ns/name → changed field paths
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # schema or API server refusals at sync
    symptoms: list[str] = field(default_factory=list)  # alert conditions still true after the sync
    problems: list[str] = field(default_factory=list)  # namespace health and new warnings after the sync


@dataclass
class Verdict:
    ok: bool = False
    diagnosis_ok: bool = False
    category_ok: bool = False
    resource_ok: bool = False
    cause_ok: bool = False
    escalation_ok: bool = False
    fix: str = "-"  # "ok", "FAIL", or "-" where the scenario expects no fix
    reasons: list[str] = field(default_factory=list)


def _key(ref: dict[str, Any] | None) -> str:
    if not ref:
        return "-"
    return f"{ref.get('kind')}/{ref.get('namespace') or ''}/{ref.get('name')}"


def _same(ref: dict[str, Any] | None, want: dict[str, Any] | None) -> bool:
    if want is None:
        return True
    return ref is not None and all((ref.get(k) or None) == (want.get(k) or None) for k in ("kind", "namespace", "name"))


def cause_holder(scenario: Scenario) -> dict[str, Any] | None:
    """The object whose change fixes the fault: the fix's target, else the expected resource."""
    fix = scenario.expect.fix
    if fix is not None and fix.target is not None:
        return fix.target.model_dump()
    return scenario.expect.resource.model_dump() if scenario.expect.resource is not None else None


def judge_diagnosis(scenario: Scenario, diagnosis: dict[str, Any]) -> tuple[bool, bool, bool, list[str]]:
    """(category ok, resource ok, cause ok, reasons) for one diagnosis."""
    expect = scenario.expect
    reasons: list[str] = []
    category_ok = diagnosis.get("category") == expect.category
    if not category_ok:
        reasons.append(f"category {diagnosis.get('category')!r}, expected {expect.category!r}")
    want = expect.resource.model_dump() if expect.resource is not None else None
    affected = list(diagnosis.get("affected") or [])
    resource_ok = _same(affected[0] if affected else None, want)
    if not resource_ok:
        reasons.append(f"affected {_key(affected[0] if affected else None)}, expected {_key(want)}")
    if expect.healthy:
        return category_ok, resource_ok, True, reasons
    cause_ok = True
    confidence = float(diagnosis.get("confidence") or 0.0)
    if confidence < NEEDS_HUMAN_BELOW:
        cause_ok = False
        reasons.append(f"confidence {confidence:.2f} is below {NEEDS_HUMAN_BELOW}: no cause is claimed")
    if not diagnosis.get("evidence"):
        cause_ok = False
        reasons.append("the diagnosis cites no evidence")
    holder = cause_holder(scenario)
    if holder is not None and not _same(holder, want):
        named = affected + [f.get("resource") for f in diagnosis.get("suggested_fixes") or []]
        text = f"{diagnosis.get('root_cause') or ''} {diagnosis.get('reason_for_human') or ''}"
        if not any(_same(ref, holder) for ref in named) and not re.search(
                rf"(?<![\w.-]){re.escape(str(holder.get('name')))}(?![\w-])", text):
            cause_ok = False
            reasons.append(f"the diagnosis does not name {_key(holder)}, which holds the cause")
    return category_ok, resource_ok, cause_ok, reasons


def _path_tokens(path: str) -> list[str]:
    """`spec.template.spec.containers[web].resources.limits.memory` → ['spec', 'template', 'spec',
    'containers', 'resources', 'limits', 'memory'] (list selectors dropped)."""
    return [t for t in re.split(r"\.|\[[^\]]*\]", path) if t]


def field_touched(expected: str, changed: list[str]) -> bool:
    want = _path_tokens(expected)
    return any(_path_tokens(path)[:len(want)] == want or want[:len(_path_tokens(path))] == _path_tokens(path)
               for path in changed)


def judge_fix(scenario: Scenario, outcomes: list[PullRequestOutcome]) -> list[str]:
    """Why the fix fails (empty when it holds)."""
    fix = scenario.expect.fix
    if not outcomes:
        return ["no pull request was opened"]
    reasons: list[str] = []
    if len(outcomes) > 1:
        reasons.append(f"{len(outcomes)} pull requests for one fault ({', '.join(o.branch for o in outcomes)})")
    for outcome in outcomes:
        touched = set(outcome.changed) | set(outcome.added) | set(outcome.removed)
        if not touched:
            reasons.append(f"{outcome.branch} changes no object (a no-op)")
            continue
        target = _key(cause_holder(scenario))
        created = {_key({"kind": o.get("kind"), "namespace": (o.get("metadata") or {}).get("namespace")
                         or (scenario.expect.resource.namespace if scenario.expect.resource else None),
                         "name": (o.get("metadata") or {}).get("name")}) for o in (fix.create if fix else [])}
        if target not in touched and not (created & set(outcome.added)):
            reasons.append(f"{outcome.branch} does not change {target} (it changes {', '.join(sorted(touched))})")
        elif fix is not None and fix.field and not fix.accept and target in outcome.changed \
                and fix.field.startswith(("spec", "data", "metadata")) \
                and not field_touched(fix.field, outcome.changed[target]):
            reasons.append(f"{outcome.branch} changes {target} but not {fix.field}")
        reasons.extend(f"sync refused: {r}" for r in outcome.refused)
        reasons.extend(f"symptom remains: {s}" for s in outcome.symptoms)
        reasons.extend(outcome.problems)
    return reasons


def judge(scenario: Scenario, incidents: list[dict[str, Any]], outcomes: list[PullRequestOutcome]) -> Verdict:
    """The row's verdict from every incident the scenario opened and every pull request they led to."""
    if scenario.more_faults:
        return _judge_each_fault(scenario, incidents, outcomes)
    return _judge_one_fault(scenario, incidents, outcomes)


def _judge_each_fault(scenario: Scenario, incidents: list[dict[str, Any]],
                      outcomes: list[PullRequestOutcome]) -> Verdict:
    """Several faults: each incident belongs to the fault whose resource it names (else to none, and fails),
    each fault must be diagnosed by at least one incident, and each is judged on its own incidents and pull
    requests."""
    faults = [scenario.expect, *scenario.more_faults]
    owned: list[list[dict[str, Any]]] = [[] for _ in faults]
    verdict = Verdict(ok=True, diagnosis_ok=True, category_ok=True, resource_ok=True, cause_ok=True,
                      escalation_ok=True)
    for incident in (i for i in incidents if i.get("diagnosis")):
        affected = (incident["diagnosis"].get("affected") or [None])[0]
        index = next((n for n, fault in enumerate(faults)
                      if fault.resource is not None and _same(affected, fault.resource.model_dump())), None)
        if index is None:
            verdict.ok = verdict.diagnosis_ok = verdict.resource_ok = False
            verdict.reasons.append(f"incident {incident.get('id')}: {_key(affected)} is none of the scenario's faults")
            continue
        owned[index].append(incident)
    fixes = []
    for fault, mine in zip(faults, owned, strict=True):
        ids = {i.get("id") for i in mine}
        part = _judge_one_fault(scenario.model_copy(update={"expect": fault, "more_faults": []}), mine,
                                [o for o in outcomes if o.incident in ids])
        for name in ("ok", "diagnosis_ok", "category_ok", "resource_ok", "cause_ok", "escalation_ok"):
            setattr(verdict, name, getattr(verdict, name) and getattr(part, name))
        fixes.append(part.fix)
        verdict.reasons.extend(f"{_key(fault.resource.model_dump() if fault.resource else None)}: {r}"
                               for r in part.reasons)
    verdict.fix = "FAIL" if "FAIL" in fixes else "ok" if "ok" in fixes else "-"
    return verdict


def _judge_one_fault(scenario: Scenario, incidents: list[dict[str, Any]],
                     outcomes: list[PullRequestOutcome]) -> Verdict:
    verdict = Verdict()
    expect = scenario.expect
    if expect.category not in CATEGORIES:
        verdict.reasons.append(f"expect.category {expect.category!r} is not in the agents' vocabulary")
        return verdict
    diagnosed = [i for i in incidents if i.get("diagnosis")]
    if not diagnosed:
        verdict.reasons.append("no diagnosis recorded (" + ", ".join(
            f"{i.get('status')}: {i.get('status_reason')}" for i in incidents) + ")")
        return verdict
    verdict.category_ok = verdict.resource_ok = verdict.cause_ok = True
    for incident in diagnosed:
        category_ok, resource_ok, cause_ok, reasons = judge_diagnosis(scenario, incident["diagnosis"])
        verdict.category_ok &= category_ok
        verdict.resource_ok &= resource_ok
        verdict.cause_ok &= cause_ok
        verdict.reasons.extend(f"incident {incident.get('id', '-')}: {r}" for r in reasons)
    verdict.diagnosis_ok = verdict.category_ok and verdict.resource_ok and verdict.cause_ok

    handed_over = [i for i in diagnosed if i["diagnosis"].get("needs_human") or i.get("status") == "awaiting_human"]
    if expect.healthy:
        verdict.escalation_ok = not outcomes
        if outcomes:
            verdict.reasons.append("a pull request for a healthy namespace")
    elif expect.escalate or expect.fix is None:
        verdict.escalation_ok = bool(handed_over) and len(handed_over) == len(diagnosed) and not outcomes
        if not verdict.escalation_ok:
            verdict.reasons.append("expected a hand-over to a person" + (
                f", got pull request(s) {', '.join(o.branch for o in outcomes)}" if outcomes else ""))
    else:
        verdict.escalation_ok = len(handed_over) < len(diagnosed)
        if not verdict.escalation_ok:
            verdict.reasons.append("handed to a person, but the cluster holds the evidence for a fix: " + "; ".join(
                str(i["diagnosis"].get("reason_for_human") or i.get("status_reason")) for i in handed_over))
        fix_reasons = judge_fix(scenario, outcomes)
        verdict.fix = "FAIL" if fix_reasons else "ok"
        verdict.reasons.extend(f"fix: {r}" for r in fix_reasons)
    verdict.ok = verdict.diagnosis_ok and verdict.escalation_ok and verdict.fix != "FAIL"
    return verdict
