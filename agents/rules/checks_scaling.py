"""A workload scaled to zero behind a Service: no pods, no endpoints, and the deployment controller's own
event saying from how many replicas it was scaled down."""

from __future__ import annotations

import re

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
