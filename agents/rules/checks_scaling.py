"""A workload scaled to zero behind a Service: no pods, no endpoints, and the deployment controller's own
event saying from how many replicas it was scaled down."""

from __future__ import annotations

import difflib
import math
import re
from typing import Any

from agents.diagnosis import ResourceRef
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.registry import check

_SCALED_DOWN = re.compile(r"Scaled down replica set (\S+) from (\d+) to 0\b")


@check("workload_scaled_to_zero")
def workload_scaled_to_zero(facts: Facts) -> Finding | None:
    """The Service selects no pod because the Deployment behind it was scaled to 0 replicas."""
    namespace = facts.focus.get("namespace")
    for service in facts.all("Service", namespace):
        selector = service.get("spec", {}).get("selector") or {}
        ns = service["metadata"].get("namespace") or namespace
        if not selector or any(all(p["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
                               for p in facts.pods()):
            continue
        for seen in reversed(facts.events_for("Deployment", reasons=["ScalingReplicaSet"])):
            found = _SCALED_DOWN.search(seen.obj.get("message") or "")
            name = seen.obj.get("involvedObject", {}).get("name")
            if not found or not name:
                continue
            live = facts.get("Deployment", ns, name)
            if live is not None and (live.get("spec") or {}).get("replicas") not in (None, 0):
                continue  # scaled back up since
            previous = int(found.group(2))
            deployment = ResourceRef(kind="Deployment", namespace=ns, name=name)
            cause = (f"Deployment {name} was scaled from {previous} to 0 replicas, so Service "
                     f"{service['metadata']['name']} has no pods and no endpoints.")
            fix = FixDraft("spec.replicas", previous, f"scale back to the {previous} replicas it ran before it was "
                           "scaled to 0 (the deployment controller's ScalingReplicaSet event)", resource=deployment)
            return Finding("service_unreachable", cause, 0.9, deployment,
                           (Clue.of(found.group(0), f"from {previous} to 0", call_id=seen.call_id),), (fix,),
                           related=(ResourceRef(kind="Service", namespace=ns, name=service["metadata"]["name"]),))
    return None


_SCALE_MISSING = re.compile(r'unable to get the target\'s current scale: (\w+)/scale\.apps \\?"([^"\\]+)\\?" not found')
_KINDS = {"deployments": "Deployment", "statefulsets": "StatefulSet", "replicasets": "ReplicaSet"}


def _hpa_condition(hpa: dict[str, Any], type_: str, status: str) -> dict[str, Any] | None:
    return next((c for c in hpa.get("status", {}).get("conditions") or []
                 if c.get("type") == type_ and c.get("status") == status), None)


def _hpa_ref(hpa: dict[str, Any]) -> ResourceRef:
    return ResourceRef(kind="HorizontalPodAutoscaler", namespace=hpa["metadata"].get("namespace"),
                       name=hpa["metadata"]["name"])


def _owned_by(pod: dict[str, Any], workload: str) -> bool:
    """A pod of the workload: owned by it, or by one of its ReplicaSets (`<workload>-<hash>`)."""
    owner = next((r.get("name") for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), "")
    return owner == workload or str(owner).rsplit("-", 1)[0] == workload


@check("hpa_target_missing")
def hpa_target_missing(facts: Facts) -> Finding | None:
    """AbleToScale False, FailedGetScale: the HPA's scaleTargetRef names a workload that does not exist. The fix
    names the one workload of that kind in the namespace whose name extends the missing one (a rename:
    web -> web-v2) and that no other HPA scales."""
    namespace = facts.focus.get("namespace")
    hpas = facts.all("HorizontalPodAutoscaler", namespace)
    for hpa in hpas:
        bad = _hpa_condition(hpa, "AbleToScale", "False")
        match = _SCALE_MISSING.search((bad or {}).get("message") or "")
        if not match:
            continue
        kind, missing = _KINDS.get(match.group(1), "Deployment"), match.group(2)
        ns = hpa["metadata"].get("namespace") or namespace
        scaled = {(h.get("spec", {}).get("scaleTargetRef") or {}).get("name") for h in hpas}
        names = [w["metadata"]["name"] for w in facts.all(kind, ns) if w["metadata"]["name"] not in scaled]
        renamed = [n for n in names if n.startswith(f"{missing}-") or n.endswith(f"-{missing}")]
        # A renamed workload usually keeps its app label: its pods still carry the old name as a label value.
        labelled = [n for n in names if any(missing in (p["metadata"].get("labels") or {}).values()
                                            for p in facts.all("Pod", ns) if _owned_by(p, n))]
        close = renamed or labelled or difflib.get_close_matches(missing, names, n=2, cutoff=0.75)
        clue = Clue.of(match.group(0), "FailedGetScale", call_id=facts.source("HorizontalPodAutoscaler", ns,
                                                                             hpa["metadata"]["name"]))
        cause = (f"HPA {hpa['metadata']['name']} scales {kind} {missing}, which does not exist "
                 f"(AbleToScale False, FailedGetScale: {match.group(0)}).")
        if len(close) != 1:
            return Finding("autoscaling", cause, 0.8, _hpa_ref(hpa), (clue,),
                           escalate=f"no single {kind} in the namespace is evidently the renamed target "
                                    f"({', '.join(names) or 'none unscaled'})")
        why = (f"whose name extends {missing}" if close[0] in renamed else
               f"whose pods carry {missing} as a label" if close[0] in labelled else f"whose name is closest to {missing}")
        cause += f" {kind} {close[0]} exists in the namespace and no HPA scales it."
        fix = FixDraft("spec.scaleTargetRef.name", close[0],
                       f"point the HPA at {kind} {close[0]}, the existing, unscaled {kind} {why}",
                       resource=_hpa_ref(hpa))
        return Finding("autoscaling", cause, 0.9, _hpa_ref(hpa),
                       (clue, Clue.of(close[0], call_id=facts.source(kind, ns, close[0]))), (fix,))
    return None


@check("hpa_maxed_out")
def hpa_maxed_out(facts: Facts) -> Finding | None:
    """ScalingLimited TooManyReplicas at maxReplicas while the workload is not loaded: utilization targets set
    so low that normal use asks for more replicas than allowed. The load the HPA measures (current utilization x
    replicas) fits under maxReplicas with a 70 % CPU target; a memory target keeps it pinned (memory does not
    fall when replicas are added), so it goes."""
    for hpa in facts.all("HorizontalPodAutoscaler", facts.focus.get("namespace")):
        limited = _hpa_condition(hpa, "ScalingLimited", "True")
        if limited is None or limited.get("reason") != "TooManyReplicas":
            continue
        spec, status = hpa.get("spec", {}), hpa.get("status", {})
        maximum, current = int(spec.get("maxReplicas") or 0), int(status.get("currentReplicas") or 0)
        targets = {(m.get("resource") or {}).get("name"): ((m.get("resource") or {}).get("target") or {}).get(
            "averageUtilization") for m in spec.get("metrics") or [] if m.get("type") == "Resource"}
        measured = {(m.get("resource") or {}).get("name"): ((m.get("resource") or {}).get("current") or {}).get(
            "averageUtilization") for m in status.get("currentMetrics") or [] if m.get("type") == "Resource"}
        cpu_target, cpu_now = targets.get("cpu"), measured.get("cpu")
        clue = Clue.of(limited.get("message"), "TooManyReplicas",
                       call_id=facts.source("HorizontalPodAutoscaler", hpa["metadata"].get("namespace"),
                                            hpa["metadata"]["name"]))
        summary = ", ".join(f"{name} {measured.get(name)}% of request (target {want}%)" for name, want in targets.items())
        cause = (f"HPA {hpa['metadata']['name']} is held at maxReplicas {maximum} ({current} running): its targets "
                 f"are below what the pods use at rest ({summary}), so it always wants more replicas.")
        if not (cpu_target and cpu_now and maximum and current == maximum):
            return Finding("autoscaling", cause, 0.75, _hpa_ref(hpa), (clue,))
        load = cpu_now * current  # the CPU the HPA measures, in percent of one pod's request
        needed = math.ceil(load / 70)
        if cpu_target >= 70 or needed > 0.8 * maximum:
            return Finding("autoscaling", cause, 0.8, _hpa_ref(hpa), (clue,),
                           escalate=f"the measured load needs {needed} of {maximum} replicas even at a 70% target; "
                                    "maxReplicas or the requests need an owner's decision")
        metric = next(m for m in spec.get("metrics") or [] if (m.get("resource") or {}).get("name") == "cpu")
        new_metrics = [{**metric, "resource": {**metric["resource"],
                                               "target": {**metric["resource"]["target"], "averageUtilization": 70}}}]
        fix = FixDraft("spec.metrics", new_metrics,
                       f"at {cpu_now}% CPU on {current} pods the load is {load}% of one pod's request: a 70% target "
                       f"serves it with {needed} replicas, inside maxReplicas {maximum}; "
                       + ("the memory target goes: memory stays used as replicas are added, so it never lets the "
                          "HPA scale down" if "memory" in targets else "headroom stays for peaks"),
                       resource=_hpa_ref(hpa))
        return Finding("autoscaling", cause, 0.9, _hpa_ref(hpa), (clue,), (fix,))
    return None
