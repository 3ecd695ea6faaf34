"""Which workload owns an object (pod -> ReplicaSet -> Deployment), and fixes re-rooted onto it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents.diagnosis import ResourceRef, SuggestedFix
from agents.rules.facts import Facts
from agents.toolsets.kubernetes.owners import controller_ref
from agents.rules.finding import FixDraft

# Where a pod spec lives inside each owner's manifest.
POD_SPEC_PATH = {
    "Pod": "spec", "Deployment": "spec.template.spec", "ReplicaSet": "spec.template.spec",
    "StatefulSet": "spec.template.spec", "DaemonSet": "spec.template.spec", "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
}


def owner_of(facts: Facts, ref: ResourceRef) -> ResourceRef | None:
    """The controller of `ref` as observed (ownerReferences), or None."""
    owner = controller_ref(facts.get(ref.kind, ref.namespace, ref.name))
    if owner is None:
        return None
    return ResourceRef(kind=owner["kind"], namespace=ref.namespace, name=owner["name"])


def top_owner(facts: Facts, ref: ResourceRef) -> ResourceRef:
    """Follow ownerReferences as far as the facts go (Pod -> ReplicaSet -> Deployment, Job -> CronJob)."""
    seen = {ref}
    while (owner := owner_of(facts, ref)) is not None and owner not in seen:
        seen.add(owner)
        ref = owner
    return ref


def reroot(draft: FixDraft, workload: ResourceRef) -> SuggestedFix:
    """A pod-relative fix (`spec.containers[...]`) as a change to the workload's manifest."""
    if draft.resource is not None:
        return SuggestedFix(resource=draft.resource, field_path=draft.field_path, new_value=draft.new_value,
                            rationale=draft.rationale)
    path = draft.field_path
    if path.startswith("spec.") or path == "spec":
        path = POD_SPEC_PATH.get(workload.kind, "spec") + path[len("spec"):]
    return SuggestedFix(resource=workload, field_path=path, new_value=draft.new_value, rationale=draft.rationale)


def _revision(rs: dict[str, Any]) -> int:
    value = (rs.get("metadata", {}).get("annotations") or {}).get("deployment.kubernetes.io/revision")
    return int(value) if str(value).isdigit() else 0


def _older_revisions(facts: Facts, pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod's Deployment's earlier ReplicaSets, newest first (what `kubectl rollout history` lists)."""
    namespace = pod["metadata"].get("namespace")
    owners = pod["metadata"].get("ownerReferences") or [{}]
    current = facts.get("ReplicaSet", namespace, owners[0].get("name", ""))
    deployment = (owners[0].get("name") or "").rsplit("-", 1)[0]
    older = [rs for rs in facts.all("ReplicaSet", namespace) if rs["metadata"]["name"].startswith(f"{deployment}-")
             and (current is None or _revision(rs) < _revision(current))]
    return sorted(older, key=_revision, reverse=True)


def previous_container_field(facts: Facts, pod: dict[str, Any], container: str,
                             read: Callable[[dict[str, Any]], Any]) -> Any:
    """`read(container spec)` in the newest earlier revision where it is set and differs from now, or None:
    the cluster's own record of what ran before a change (a rollback's evidence)."""
    now = read(next((c for c in pod.get("spec", {}).get("containers") or [] if c.get("name") == container), {}))
    for rs in _older_revisions(facts, pod):
        for spec in rs.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []:
            if spec.get("name") == container and (value := read(spec)) is not None and value != now:
                return value
    return None


def previous_image(facts: Facts, pod: dict[str, Any], container: str) -> str | None:
    """The image `container` ran in the newest earlier revision that differs from now (for a rollback)."""
    return previous_container_field(facts, pod, container, lambda spec: spec.get("image"))
