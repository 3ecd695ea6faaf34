"""Which object controls another (ownerReferences), and the workload a pod belongs to on the cluster.

A pod's workload is what a person scales, edits or rolls back: Pod → ReplicaSet → Deployment,
Pod → Job → CronJob, or the StatefulSet/DaemonSet itself. Intake groups alerts by it.
"""

from __future__ import annotations

from typing import Any

from agents.safety.validation import is_subdomain
from agents.toolsets.kubernetes.reader import ClusterReader

Obj = dict[str, Any]

# Owners that are themselves usually owned: a ReplicaSet by its Deployment (or a Rollout), a Job by
# its CronJob. Anything else (StatefulSet, DaemonSet, a custom controller) is where the walk stops.
_FOLDED_KINDS = ("ReplicaSet", "Job")
# What counts as a pod's workload. Other owners are not one: a static pod's owner is its Node, and
# joining kube-apiserver and etcd into one "Node" incident would be wrong.
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Rollout"})


def controller_ref(obj: Obj | None) -> Obj | None:
    """The ownerReference marked `controller: true`, else the first one, else None."""
    refs = (obj or {}).get("metadata", {}).get("ownerReferences") or []
    return next((r for r in refs if r.get("controller")), refs[0] if refs else None)


def workload_of_pod(reader: ClusterReader, namespace: str, pod: str) -> tuple[str, str] | None:
    """(kind, name) of the pod's workload as the cluster records it; None when the pod is gone.

    At most three reads: the pod, then its ReplicaSet or Job. An owner that has vanished ends the
    walk at the last object that was found; an owner that is not a workload (a static pod's Node)
    leaves the pod as its own workload.
    """
    obj = reader.maybe_get("Pod", namespace, pod)
    if obj is None:
        return None
    kind, name = "Pod", pod
    for _ in range(len(_FOLDED_KINDS) + 1):
        ref = controller_ref(obj)
        owner_kind, owner_name = str((ref or {}).get("kind") or ""), str((ref or {}).get("name") or "")
        if owner_kind not in WORKLOAD_KINDS or not is_subdomain(owner_name):
            break  # no owner, not a workload, or a name no API object can have
        kind, name = owner_kind, owner_name
        if kind not in _FOLDED_KINDS:
            break
        obj = reader.maybe_get(kind, namespace, name)
        if obj is None:
            break
    return kind, name
