"""The disruption controller: PodDisruptionBudget status, and the eviction API's decision.

Follows pkg/controller/disruption: `expectedPods` is the number of selected pods when `minAvailable`
is an integer, else the sum of the owning controllers' desired replicas; `desiredHealthy` is
`minAvailable` (a percentage rounds up) or `expectedPods - maxUnavailable` (a percentage rounds up);
`currentHealthy` counts selected pods that are Ready and not terminating; `disruptionsAllowed` is
`currentHealthy - desiredHealthy`, at least 0, with condition DisruptionAllowed
(SufficientPods/InsufficientPods). The eviction subresource refuses with 429 while no disruption is
allowed (pkg/registry/core/pod/storage/eviction.go); an unhealthy pod may always be evicted while the
budget is met (`unhealthyPodEvictionPolicy: IfHealthyBudget`, the default).
"""

from __future__ import annotations

import math
from typing import Any

from sim.derive.context import fmt
from sim.selectors import selector_matches

Obj = dict[str, Any]
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."


def _ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def selected_pods(store: Any, pdb: Obj) -> list[Obj]:
    selector = (pdb.get("spec") or {}).get("selector")
    if selector is None:
        return []  # policy/v1: a null selector selects nothing, an empty one every pod in the namespace
    return [p for p in store.list("Pod", pdb["metadata"].get("namespace"))
            if selector_matches(selector, (p["metadata"].get("labels") or {}))]


def _scaled(value: Any, total: int) -> int:
    text = str(value)
    if text.endswith("%"):
        return math.ceil(int(text[:-1] or 0) * total / 100)
    return int(value)


def _expected_from_owners(store: Any, pods: list[Obj]) -> int:
    owners: dict[tuple[str, str], int] = {}
    for pod in pods:
        ref = next((r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        if ref is None:
            continue
        owner = store.get(ref["kind"], pod["metadata"].get("namespace"), ref["name"])
        if owner is None:
            continue
        if ref["kind"] == "ReplicaSet":  # the Deployment's scale when the ReplicaSet has one
            dep_ref = next((r for r in owner["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
            dep = store.get("Deployment", pod["metadata"].get("namespace"), dep_ref["name"]) if dep_ref else None
            owner = dep or owner
        owners[(owner["kind"], owner["metadata"]["name"])] = int((owner.get("spec") or {}).get("replicas", 1))
    return sum(owners.values())


def budget(store: Any, pdb: Obj) -> Obj:
    """The status the disruption controller writes for `pdb`."""
    spec = pdb.get("spec") or {}
    pods = [p for p in selected_pods(store, pdb) if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    healthy = sum(1 for p in pods if _ready(p) and not p["metadata"].get("deletionTimestamp"))
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if min_available is not None and not str(min_available).endswith("%"):
        expected, desired = len(pods), int(min_available)
    else:
        expected = _expected_from_owners(store, pods) or len(pods)
        if min_available is not None:
            desired = _scaled(min_available, expected)
        elif max_unavailable is not None:
            desired = max(0, expected - _scaled(max_unavailable, expected))
        else:
            desired = expected
    allowed = max(0, healthy - desired)
    return {
        "observedGeneration": int(pdb["metadata"].get("generation") or 1),
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [{
            "type": "DisruptionAllowed", "status": "True" if allowed > 0 else "False",
            "reason": "SufficientPods" if allowed > 0 else "InsufficientPods", "message": "",
            "observedGeneration": int(pdb["metadata"].get("generation") or 1),
            "lastTransitionTime": (pdb.get("metadata") or {}).get("creationTimestamp"),
        }],
    }


def derive_budgets(cluster: Any) -> None:
    for pdb in cluster.list("PodDisruptionBudget"):
        status = budget(cluster, pdb)
        old = pdb.get("status") or {}
        old_condition = next((c for c in old.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), None)
        if old_condition is not None and old_condition.get("status") == status["conditions"][0]["status"]:
            status["conditions"][0]["lastTransitionTime"] = old_condition.get("lastTransitionTime")
        elif old_condition is not None:
            status["conditions"][0]["lastTransitionTime"] = fmt(cluster.now)
        if {k: v for k, v in old.items() if k != "disruptedPods"} != status:
            pdb["status"] = status
            cluster.save(pdb)


def eviction_refusal(store: Any, pod: Obj) -> tuple[int, str, Obj | None] | None:
    """(code, message, cause) when the eviction API refuses to evict `pod`, else None."""
    name = pod["metadata"]["name"]
    budgets = [b for b in store.list("PodDisruptionBudget", pod["metadata"].get("namespace"))
               if any(p["metadata"]["name"] == name for p in selected_pods(store, b))]
    if not budgets:
        return None
    if len(budgets) > 1:
        return 500, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.", None
    pdb = budgets[0]
    status = budget(store, pdb)
    if not _ready(pod) and ((pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") == "AlwaysAllow"
                            or status["currentHealthy"] >= status["desiredHealthy"]):
        return None
    if status["disruptionsAllowed"] > 0:
        return None
    cause = {"reason": "DisruptionBudget",
             "message": f"The disruption budget {pdb['metadata']['name']} needs {status['desiredHealthy']} healthy "
                        f"pods and has {status['currentHealthy']} currently"}
    return 429, VIOLATION, cause
