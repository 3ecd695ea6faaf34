"""The scheduler: filter nodes as kube-scheduler's default plugins do and word failures like FitError.

Per node the first failing filter counts (NodeUnschedulable, TaintToleration, NodeAffinity,
NodeResourcesFit), then reasons are aggregated: `0/3 nodes are available: 3 Insufficient memory.
preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.`
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sim.derive.context import Cluster, Obj
from sim.quantity import QuantityError, to_bytes, to_millicores

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


def container_requests(container: Obj) -> tuple[int, int]:
    resources = container.get("resources") or {}
    requests = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    try:
        cpu = to_millicores(requests["cpu"]) if "cpu" in requests else 0
        memory = to_bytes(requests["memory"]) if "memory" in requests else 0
    except QuantityError:
        return 0, 0
    return cpu, memory


def pod_requests(spec: Obj) -> tuple[int, int]:
    """Effective requests: sum over containers, at least the largest init container (limits default requests)."""
    cpu = memory = 0
    for c in spec.get("containers") or []:
        c_cpu, c_mem = container_requests(c)
        cpu, memory = cpu + c_cpu, memory + c_mem
    for c in spec.get("initContainers") or []:
        c_cpu, c_mem = container_requests(c)
        cpu, memory = max(cpu, c_cpu), max(memory, c_mem)
    return cpu, memory


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol.get("key") == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _expression_matches(labels: dict[str, str], expr: Obj) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels:
        try:
            have, want = int(labels[key]), int(values[0])
        except (ValueError, IndexError):
            return False
        return have > want if op == "Gt" else have < want
    return False


def matches_node(spec: Obj, node: Obj) -> bool:
    labels = node["metadata"].get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
        or {}
    )
    terms = required.get("nodeSelectorTerms") or []
    return not terms or any(
        all(_expression_matches(labels, e) for e in term.get("matchExpressions") or []) for term in terms
    )


def node_usage(cluster: Cluster, pods: list[Obj]) -> dict[str, list[int]]:
    """Requested cpu, memory and pod count per node, from pods already bound."""
    usage: dict[str, list[int]] = {}
    for pod in pods:
        node = pod["spec"].get("nodeName")
        if not node or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        cpu, memory = pod_requests(pod["spec"])
        entry = usage.setdefault(node, [0, 0, 0])
        entry[0] += cpu
        entry[1] += memory
        entry[2] += 1
    return usage


def _node_failure(spec: Obj, node: Obj, usage: list[int], request: tuple[int, int]) -> list[tuple[str, bool]]:
    """Reasons this node fails, each with whether preemption could help (first failing plugin only)."""
    taints = node["spec"].get("taints") or []
    tolerations = spec.get("tolerations") or []
    if node["spec"].get("unschedulable") and not tolerates(
        tolerations, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    ):
        return [("node(s) were unschedulable", False)]
    for taint in taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return [(f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value') or ''}}}", False)]
    if not matches_node(spec, node):
        return [("node(s) didn't match Pod's node affinity/selector", False)]
    alloc = node.get("status", {}).get("allocatable") or {}
    reasons = []
    if usage[2] + 1 > int(alloc.get("pods", 110)):
        reasons.append(("Too many pods", True))
    if request[0] and usage[0] + request[0] > to_millicores(alloc.get("cpu", "0")):
        reasons.append(("Insufficient cpu", True))
    if request[1] and usage[1] + request[1] > to_bytes(alloc.get("memory", "0")):
        reasons.append(("Insufficient memory", True))
    return reasons


def fit_error(total: int, reasons: Counter[str], preemption: Counter[str], prefix: str | None = None) -> str:
    head = prefix if prefix else ", ".join(sorted(f"{n} {r}" for r, n in reasons.items()))
    tail = ", ".join(sorted(f"{n} {r}" for r, n in preemption.items()))
    return f"0/{total} nodes are available: {head}. preemption: 0/{total} nodes are available: {tail}."


def schedule(cluster: Cluster, pod: Obj, nodes: list[Obj], usage: dict[str, list[int]]) -> tuple[str | None, str]:
    """(node name, "") or (None, the FailedScheduling message)."""
    spec = pod["spec"]
    namespace = pod["metadata"].get("namespace")
    total = len(nodes)
    for volume in spec.get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if not claim:
            continue
        pvc = cluster.get("PersistentVolumeClaim", namespace, claim)
        if pvc is None:
            return None, fit_error(total, Counter(), Counter({NOT_HELPFUL: total}), f'persistentvolumeclaim "{claim}" not found')
        if (pvc.get("status") or {}).get("phase") != "Bound":
            return None, fit_error(
                total, Counter(), Counter({NOT_HELPFUL: total}), "pod has unbound immediate PersistentVolumeClaims"
            )
    request = pod_requests(spec)
    reasons: Counter[str] = Counter()
    preemption: Counter[str] = Counter()
    feasible: list[tuple[Any, ...]] = []
    for node in nodes:
        name = node["metadata"]["name"]
        used = usage.get(name, [0, 0, 0])
        failures = _node_failure(spec, node, used, request)
        if not failures:
            alloc = node["status"].get("allocatable") or {}
            score = used[0] / max(1, to_millicores(alloc.get("cpu", "1"))) + used[1] / max(
                1, to_bytes(alloc.get("memory", "1"))
            )
            feasible.append((score, used[2], name))
            continue
        for reason, _ in failures:
            reasons[reason] += 1
        preemption[NO_VICTIMS if all(helps for _, helps in failures) else NOT_HELPFUL] += 1
    if feasible:
        return min(feasible)[2], ""
    if not nodes:
        return None, "no nodes available to schedule pods"
    return None, fit_error(total, reasons, preemption)
