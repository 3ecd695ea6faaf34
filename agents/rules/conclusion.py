"""Build the `Diagnosis` from a rule run: the best finding, or healthy, or an honest "needs a human"."""

from __future__ import annotations


from agents.diagnosis import Diagnosis, ResourceRef
from agents.rules import pods
from agents.rules.evidence import evidence_for
from agents.rules.finding import Clue, Finding
from agents.rules.run import Run
from agents.rules.workloads import reroot, top_owner
from agents.skills.loader import Skill


TRUST = 0.7  # below this a finding is reported, but a human must confirm it
_OWNED = ("Pod", "ReplicaSet", "Job")  # kinds whose fault is fixed in the workload that owns them (if any)


def _affected(run: Run, finding: Finding) -> tuple[ResourceRef, list[ResourceRef]]:
    """The workload first (pod -> ReplicaSet -> Deployment), then the subject and related objects."""
    workload = top_owner(run.facts, finding.subject) if finding.subject.kind in _OWNED else finding.subject
    affected = [workload]
    for ref in (finding.subject, *finding.related):
        owner = top_owner(run.facts, ref) if ref.kind in _OWNED else ref
        for item in (owner, ref):
            if item not in affected:
                affected.append(item)
    return workload, affected


def _noted(run: Run, cause: str) -> str:
    """The cause, then what the run must own up to about how it looked (e.g. a replaced pod)."""
    return " ".join([cause, *run.notes])


def _from_finding(run: Run, finding: Finding, check: str, skill: str) -> Diagnosis:
    workload, affected = _affected(run, finding)
    confident = finding.confidence >= TRUST
    reason = finding.escalate
    if reason is None and not finding.fixes:
        reason = "the cause is known but the evidence does not say what to change; a human chooses the fix"
    if not confident:
        reason = f"low confidence ({finding.confidence:.2f}) from check {check}; a human should confirm" + (
            f"; {finding.escalate}" if finding.escalate else "")
    return Diagnosis(
        category=finding.category, root_cause=_noted(run, finding.root_cause), confidence=finding.confidence,
        evidence=evidence_for(finding.clues, run.calls), affected=affected,
        suggested_fixes=[reroot(fix, workload) for fix in finding.fixes],
        needs_human=reason is not None, reason_for_human=reason, source="rules",
        status="complete" if confident else "partial", skill=skill, checks=[check], errors=list(run.errors))


def _healthy(run: Run) -> Diagnosis:
    pods_seen = run.facts.pods()
    namespace = run.vars.get("namespace", "the cluster")
    cause = (f"No fault found: {len(pods_seen)} pod(s) in {namespace} are Running and Ready (or Completed), "
             "no workload reports a failing condition, and no Warning events were seen.")
    clues = (Clue.of("Running", "Completed"),) if pods_seen else ()
    return Diagnosis(category="healthy", root_cause=_noted(run, cause), confidence=0.85 if pods_seen else 0.6,
                     evidence=evidence_for(clues, run.calls), affected=[], needs_human=False, source="rules",
                     status="complete", skill="base", errors=list(run.errors))


def _unmatched(run: Run, matched: list[Skill]) -> Diagnosis:
    unhealthy = [pods.name(p) for p in pods.unhealthy_pods(run.facts)]
    alerts = sorted({labels.get("alertname", "?") for labels in run.incident.alert_labels()})
    category = next((s.category for s in matched if s.category), "healthy")
    what = f"alerts {', '.join(alerts)} fire" if alerts else "pods are unhealthy"
    cause = f"No known fault pattern explains why {what}" + (
        f"; unhealthy pods: {', '.join(unhealthy[:5])}." if unhealthy else "; every observed pod is healthy.")
    unreachable = bool(getattr(run.executor, "cluster_unreachable", False))
    reason = ("the cluster API was unreachable, so nothing could be observed" if unreachable
              else f"no rule matched ({'skills tried: ' + ', '.join(s.name for s in matched) if matched else 'no skill matched'}); "
                   "a human or the model path must investigate")
    affected = [ResourceRef(kind="Pod", namespace=run.vars.get("namespace"), name=n) for n in unhealthy[:5]]
    return Diagnosis(category=category, root_cause=_noted(run, cause), confidence=0.2, affected=affected, needs_human=True,
                     reason_for_human=reason, source="rules", status="failed" if unreachable else "partial",
                     failure_reason=reason if unreachable else None, skill=matched[0].name if matched else "base",
                     errors=list(run.errors))


def conclude(run: Run, matched: list[Skill]) -> Diagnosis:
    best = run.best()
    if best is not None:
        return _from_finding(run, *best)
    nothing_wrong = not pods.unhealthy_pods(run.facts) and not run.incident.firing() and not any(
        seen.obj.get("type") == "Warning" for seen in run.facts.events)
    if nothing_wrong and not getattr(run.executor, "cluster_unreachable", False):
        return _healthy(run)
    return _unmatched(run, matched)
