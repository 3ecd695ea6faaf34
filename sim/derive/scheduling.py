"""The scheduler: filter nodes as kube-scheduler's default plugins do and word failures like FitError.

Filters run in kube-scheduler's default order (NodeUnschedulable, TaintToleration, NodeAffinity,
NodeResourcesFit, PodTopologySpread, InterPodAffinity) and per node the first failing plugin counts,
as `framework.RunFilterPlugins` stops there. Reasons are the plugins' own strings
(pkg/scheduler/framework/plugins/*), aggregated like FitError.Error():
`0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption
victims found for incoming pod.` A node whose status is UnschedulableAndUnresolvable (node affinity,
taints, pod affinity, a missing topology label) is one where "Preemption is not helpful for
scheduling"; every pod here has the default priority 0, so elsewhere preemption finds no victims.
Feasible nodes are scored: preferred node affinity, preferred pod (anti-)affinity, ScheduleAnyway
spread and PreferNoSchedule taints first, then the least requested node.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sim.derive.context import Cluster, Obj
from sim.quantity import QuantityError, parse_quantity, to_bytes, to_millicores

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"

# pkg/scheduler/framework/plugins/.../*.go reason strings.
NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"  # nodeaffinity.ErrReasonPod
POD_AFFINITY = "node(s) didn't match pod affinity rules"  # interpodaffinity.ErrReasonAffinityRulesNotMatch
POD_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"  # ErrReasonAntiAffinityRulesNotMatch
EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
SPREAD = "node(s) didn't match pod topology spread constraints"  # podtopologyspread.ErrReasonConstraintsNotMatch
SPREAD_LABEL = SPREAD + " (missing required label)"  # ErrReasonNodeLabelNotMatch

# Resources counted in bytes or millicores; any other name (nvidia.com/gpu, hugepages-2Mi) is an integer count.
_BYTES = ("memory", "ephemeral-storage")


def resource_amount(name: str, value: Any) -> int:
    """A quantity in the unit the scheduler compares: millicores for cpu, bytes for memory and
    ephemeral-storage, whole units for extended resources."""
    if name == "cpu":
        return to_millicores(value)
    if name in _BYTES or name.startswith("hugepages-"):
        return to_bytes(value)
    return int(parse_quantity(value))


def container_resources(container: Obj) -> dict[str, int]:
    """The container's requests (limits default requests), every resource it names."""
    resources = container.get("resources") or {}
    requests = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    out: dict[str, int] = {}
    for name, value in requests.items():
        try:
            out[name] = resource_amount(name, value)
        except (QuantityError, ValueError, TypeError):
            continue
    return out


def container_requests(container: Obj) -> tuple[int, int]:
    res = container_resources(container)
    return res.get("cpu", 0), res.get("memory", 0)


def pod_resources(spec: Obj) -> dict[str, int]:
    """Effective requests: sum over containers, at least the largest init container (limits default requests)."""
    total: Counter[str] = Counter()
    for c in spec.get("containers") or []:
        total.update(container_resources(c))
    for c in spec.get("initContainers") or []:
        for name, amount in container_resources(c).items():
            total[name] = max(total[name], amount)
    return dict(total)


def pod_requests(spec: Obj) -> tuple[int, int]:
    res = pod_resources(spec)
    return res.get("cpu", 0), res.get("memory", 0)


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


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions); a null selector matches nothing, {} everything."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_expression_matches(labels, e) for e in selector.get("matchExpressions") or [])


def _term_matches(term: Obj, labels: dict[str, str]) -> bool:
    fields = term.get("matchExpressions") or []
    return bool(fields) and all(_expression_matches(labels, e) for e in fields)


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


def _preferred_node_score(spec: Obj, node: Obj) -> int:
    labels = node["metadata"].get("labels") or {}
    preferred = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "preferredDuringSchedulingIgnoredDuringExecution") or []
    return sum(int(p.get("weight") or 0) for p in preferred if _term_matches(p.get("preference") or {}, labels))


class Placement:
    """Where pods already run (bound, not finished), for inter-pod affinity and topology spread."""

    def __init__(self, pods: list[Obj], nodes: list[Obj]) -> None:
        self.labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in nodes}
        self.bound = [p for p in pods if p["spec"].get("nodeName")
                      and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                      and not p["metadata"].get("deletionTimestamp")]

    def domain(self, pod: Obj, key: str) -> str | None:
        return self.labels.get(pod["spec"]["nodeName"], {}).get(key)


def _term_namespaces(term: Obj, pod: Obj) -> set[str] | None:
    """The namespaces a PodAffinityTerm looks in; None for all (an empty namespaceSelector)."""
    if term.get("namespaceSelector") == {}:
        return None
    return set(term.get("namespaces") or [pod["metadata"].get("namespace") or "default"])


def _pod_matches_term(term: Obj, owner: Obj, other: Obj) -> bool:
    namespaces = _term_namespaces(term, owner)
    if namespaces is not None and (other["metadata"].get("namespace") or "default") not in namespaces:
        return False
    return selector_matches(term.get("labelSelector"), other["metadata"].get("labels") or {})


def _affinity_terms(spec: Obj, kind: str, mode: str) -> list[Obj]:
    return list(((spec.get("affinity") or {}).get(kind) or {}).get(f"{mode}DuringSchedulingIgnoredDuringExecution")
                or [])


def _inter_pod_failure(pod: Obj, node: Obj, placement: Placement) -> tuple[str, bool] | None:
    """InterPodAffinity's Filter, in its order: the pod's affinity (UnschedulableAndUnresolvable), its
    anti-affinity, then existing pods' anti-affinity (both Unschedulable)."""
    spec, name = pod["spec"], node["metadata"]["name"]
    labels = placement.labels.get(name, {})
    for term in _affinity_terms(spec, "podAffinity", "required"):
        key = term.get("topologyKey", "")
        matching = [o for o in placement.bound if _pod_matches_term(term, pod, o)]
        if key not in labels:
            return POD_AFFINITY, False
        if any(placement.domain(o, key) == labels[key] for o in matching):
            continue
        # The first pod of a group that selects itself may go anywhere (interpodaffinity's special case).
        if not matching and _pod_matches_term(term, pod, pod):
            continue
        return POD_AFFINITY, False
    for term in _affinity_terms(spec, "podAntiAffinity", "required"):
        key = term.get("topologyKey", "")
        if key in labels and any(placement.domain(o, key) == labels[key] and _pod_matches_term(term, pod, o)
                                 for o in placement.bound):
            return POD_ANTI_AFFINITY, True
    for other in placement.bound:
        for term in _affinity_terms(other["spec"], "podAntiAffinity", "required"):
            key = term.get("topologyKey", "")
            if key in labels and placement.domain(other, key) == labels[key] and _pod_matches_term(term, other, pod):
                return EXISTING_ANTI_AFFINITY, True
    return None


def _preferred_pod_score(pod: Obj, node: Obj, placement: Placement) -> int:
    labels = placement.labels.get(node["metadata"]["name"], {})
    score = 0
    for kind, sign in (("podAffinity", 1), ("podAntiAffinity", -1)):
        for weighted in _affinity_terms(pod["spec"], kind, "preferred"):
            term = weighted.get("podAffinityTerm") or {}
            key = term.get("topologyKey", "")
            if key in labels:
                hits = sum(1 for o in placement.bound
                           if placement.domain(o, key) == labels[key] and _pod_matches_term(term, pod, o))
                score += sign * int(weighted.get("weight") or 0) * hits
    return score


def _spread_counts(pod: Obj, constraint: Obj, nodes: list[Obj], placement: Placement) -> dict[str, int]:
    """Matching pods per topology domain, over the nodes that pass the pod's node affinity/selector
    (nodeAffinityPolicy Honor, the default) and carry the topology key."""
    key = constraint.get("topologyKey", "")
    namespace = pod["metadata"].get("namespace") or "default"
    counts: dict[str, int] = {}
    for node in nodes:
        value = (node["metadata"].get("labels") or {}).get(key)
        if value is not None and matches_node(pod["spec"], node):
            counts.setdefault(value, 0)
    for other in placement.bound:
        value = placement.domain(other, key)
        if value in counts and (other["metadata"].get("namespace") or "default") == namespace and selector_matches(
                constraint.get("labelSelector"), other["metadata"].get("labels") or {}):
            counts[value] += 1
    return counts


def _spread_failure(pod: Obj, node: Obj, nodes: list[Obj], placement: Placement) -> tuple[str, bool] | None:
    labels = node["metadata"].get("labels") or {}
    for constraint in pod["spec"].get("topologySpreadConstraints") or []:
        if constraint.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
            continue
        key = constraint.get("topologyKey", "")
        if key not in labels:
            return SPREAD_LABEL, False
        counts = _spread_counts(pod, constraint, nodes, placement)
        self_match = 1 if selector_matches(constraint.get("labelSelector"), pod["metadata"].get("labels") or {}) else 0
        lowest = min(counts.values(), default=0)
        if counts.get(labels[key], 0) + self_match - lowest > int(constraint.get("maxSkew") or 1):
            return SPREAD, True
    return None


def _spread_score(pod: Obj, node: Obj, nodes: list[Obj], placement: Placement) -> int:
    labels = node["metadata"].get("labels") or {}
    total = 0
    for constraint in pod["spec"].get("topologySpreadConstraints") or []:
        if constraint.get("whenUnsatisfiable") == "ScheduleAnyway" and constraint.get("topologyKey") in labels:
            total += _spread_counts(pod, constraint, nodes, placement).get(labels[constraint["topologyKey"]], 0)
    return total


def node_usage(cluster: Cluster, pods: list[Obj]) -> dict[str, Counter[str]]:
    """Requested resources and pod count ("pods") per node, from pods already bound."""
    usage: dict[str, Counter[str]] = {}
    for pod in pods:
        node = pod["spec"].get("nodeName")
        if not node or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        add_usage(usage, node, pod["spec"])
    return usage


def add_usage(usage: dict[str, Counter[str]], node: str, spec: Obj) -> None:
    entry = usage.setdefault(node, Counter())
    entry.update(pod_resources(spec))
    entry["pods"] += 1


def _allocatable(node: Obj, name: str) -> int:
    value = ((node.get("status") or {}).get("allocatable") or {}).get(name)
    if value is None:
        return 110 if name == "pods" else 0
    try:
        return resource_amount(name, value)
    except (QuantityError, ValueError, TypeError):
        return 0


def _node_failure(pod: Obj, node: Obj, used: Counter[str], request: dict[str, int], nodes: list[Obj],
                  placement: Placement) -> list[tuple[str, bool]]:
    """Reasons this node fails, each with whether preemption could help (first failing plugin only)."""
    spec = pod["spec"]
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
        return [(NODE_AFFINITY, False)]
    reasons = []
    if used["pods"] + 1 > _allocatable(node, "pods"):
        reasons.append(("Too many pods", True))
    # noderesources.fitsRequest: cpu, memory, ephemeral-storage, then scalar resources by name.
    for name in ("cpu", "memory", "ephemeral-storage", *sorted(set(request) - {"cpu", "memory", "ephemeral-storage"})):
        want = request.get(name, 0)
        if want and used[name] + want > _allocatable(node, name):
            reasons.append((f"Insufficient {name}", True))
    if reasons:
        return reasons
    for failure in (_spread_failure(pod, node, nodes, placement), _inter_pod_failure(pod, node, placement)):
        if failure is not None:
            return [failure]
    return []


def fit_error(total: int, reasons: Counter[str], preemption: Counter[str], prefix: str | None = None) -> str:
    head = prefix if prefix else ", ".join(sorted(f"{n} {r}" for r, n in reasons.items()))
    tail = ", ".join(sorted(f"{n} {r}" for r, n in preemption.items()))
    return f"0/{total} nodes are available: {head}. preemption: 0/{total} nodes are available: {tail}."


def schedule(cluster: Cluster, pod: Obj, nodes: list[Obj], usage: dict[str, Counter[str]],
             pods: list[Obj] | None = None) -> tuple[str | None, str]:
    """(node name, "") or (None, the FailedScheduling message). `pods` are the cluster's pods, for
    inter-pod affinity and topology spread (those already bound count)."""
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
    request = pod_resources(spec)
    placement = Placement([p for p in pods or [] if p["metadata"].get("uid") != pod["metadata"].get("uid")], nodes)
    reasons: Counter[str] = Counter()
    preemption: Counter[str] = Counter()
    feasible: list[tuple[Any, ...]] = []
    for node in nodes:
        name = node["metadata"]["name"]
        used = usage.get(name, Counter())
        failures = _node_failure(pod, node, used, request, nodes, placement)
        if not failures:
            resources = used["cpu"] / max(1, _allocatable(node, "cpu")) + used["memory"] / max(
                1, _allocatable(node, "memory"))
            preferred = _preferred_node_score(spec, node) + _preferred_pod_score(pod, node, placement)
            soft_taints = sum(1 for t in node["spec"].get("taints") or []
                              if t.get("effect") == "PreferNoSchedule" and not tolerates(spec.get("tolerations") or [], t))
            feasible.append((-preferred, _spread_score(pod, node, nodes, placement), soft_taints, resources,
                             used["pods"], name))
            continue
        for reason, _ in failures:
            reasons[reason] += 1
        preemption[NO_VICTIMS if all(helps for _, helps in failures) else NOT_HELPFUL] += 1
    if feasible:
        return min(feasible)[-1], ""
    if not nodes:
        return None, "no nodes available to schedule pods"
    return None, fit_error(total, reasons, preemption)
