"""Nodes: objects from `scenario.nodes`, their conditions, the taints the node lifecycle controller adds."""

from __future__ import annotations

from datetime import timedelta

from sim.derive.context import Cluster, Obj, fmt, parse_time
from sim.derive.eviction import NODEFS_AVAILABLE_MIN, node_disk
from sim.quantity import format_bytes, to_bytes
from sim.scenario.schema import NodeFacts

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
# TaintNodesByCondition (node lifecycle controller): a pressure condition that is True taints the node NoSchedule.
PRESSURE_TAINTS = {
    "MemoryPressure": "node.kubernetes.io/memory-pressure",
    "DiskPressure": "node.kubernetes.io/disk-pressure",
    "PIDPressure": "node.kubernetes.io/pid-pressure",
}
_LIFECYCLE_TAINTS = (NOT_READY_TAINT, UNREACHABLE_TAINT, "node.kubernetes.io/unschedulable", *PRESSURE_TAINTS.values())
# The kubelet's default hard eviction thresholds (pkg/kubelet/eviction/defaults_linux.go).
MEMORY_AVAILABLE_MIN = 100 * 2**20
# The kubelet's condition wording (pkg/kubelet/nodestatus/setters.go) when pressure is True.
_PRESSURE = {
    "MemoryPressure": ("KubeletHasInsufficientMemory", "kubelet has insufficient memory available"),
    "DiskPressure": ("KubeletHasDiskPressure", "kubelet has disk pressure"),
    "PIDPressure": ("KubeletHasInsufficientPID", "kubelet has insufficient PID available"),
}


def node_facts(cluster: Cluster, name: str) -> NodeFacts | None:
    return next((n for n in cluster.scenario.nodes if n.name == name), None)


def node_index(cluster: Cluster, name: str) -> int:
    names = [n.name for n in cluster.scenario.nodes]
    return names.index(name) + 1 if name in names else len(names) + 1


def seed_nodes(cluster: Cluster) -> None:
    version = cluster.scenario.kubernetes_version
    for index, facts in enumerate(cluster.scenario.nodes, start=1):
        capacity = facts.capacity or facts.allocatable
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": facts.name,
            "kubernetes.io/os": "linux",
            **facts.labels,
        }
        node: Obj = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": facts.name,
                "labels": labels,
                "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
                "creationTimestamp": fmt(cluster.fault_start - timedelta(days=12)),
            },
            "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
            "status": {
                "capacity": _resources(capacity),
                "allocatable": _resources(facts.allocatable),
                "addresses": [a.model_dump() for a in facts.addresses] or [
                    {"type": "InternalIP", "address": f"172.18.0.{index + 1}"},
                    {"type": "Hostname", "address": facts.name},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "architecture": "amd64",
                    "bootID": f"boot-{facts.name}",
                    "containerRuntimeVersion": "containerd://1.7.24",
                    "kernelVersion": "6.8.0-1017-gcp",
                    "kubeProxyVersion": version,
                    "kubeletVersion": version,
                    "machineID": f"machine-{facts.name}",
                    "operatingSystem": "linux",
                    "osImage": "Debian GNU/Linux 12 (bookworm)",
                    "systemUUID": f"system-{facts.name}",
                },
            },
        }
        if facts.taints:
            node["spec"]["taints"] = [t.model_dump() for t in facts.taints]
        if facts.unschedulable:
            node["spec"]["unschedulable"] = True
        if cluster.get("Node", None, facts.name) is None:
            cluster.create(node)


def _resources(res) -> Obj:  # type: ignore[no-untyped-def]
    return {
        "cpu": str(res.cpu),
        "memory": format_bytes(to_bytes(res.memory)) if to_bytes(res.memory) % 1024 == 0 else str(res.memory),
        "pods": str(res.pods),
        "ephemeral-storage": str(res.ephemeral_storage),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        **{name: str(value) for name, value in res.extended.items()},
    }


def is_ready(node: Obj) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def stopped_at(cluster: Cluster, name: str):  # type: ignore[no-untyped-def]
    """When the node's kubelet stopped (frozen at first sight), or None for a healthy node."""
    facts = node_facts(cluster, name)
    if facts is None or not facts.kubelet_stopped:
        return None
    return cluster.memory.observed.get(f"node/{name}")


def as_seen_at(cluster: Cluster, node: Obj, moment) -> Obj:  # type: ignore[no-untyped-def]
    """The node as the scheduler saw it at `moment`: before its kubelet stopped (plus the 40 s grace
    period) it was Ready and carried no not-ready/unreachable taints, so pods created then landed on it."""
    stopped = stopped_at(cluster, node["metadata"]["name"])
    if stopped is None or moment is None or moment >= stopped + timedelta(seconds=40):
        return node
    taints = [t for t in node["spec"].get("taints") or [] if t.get("key") not in (NOT_READY_TAINT, UNREACHABLE_TAINT)]
    return {**node, "spec": {**node["spec"], "taints": taints}}


def derive_nodes(cluster: Cluster) -> None:
    for node in cluster.list("Node"):
        facts = node_facts(cluster, node["metadata"]["name"])
        if facts is None:
            continue
        since = parse_time(node["metadata"].get("creationTimestamp")) or cluster.now
        # Frozen at first sight, like pod timelines, so later reconciles do not move the times.
        stopped = cluster.memory.observed.setdefault(
            f"node/{facts.name}", cluster.now - timedelta(seconds=facts.stopped_ago or cluster.scenario.world.fault_age))
        conditions = _conditions(facts, since, stopped, pressure(cluster, node, facts))
        node.setdefault("status", {})["conditions"] = conditions
        ready = next(c for c in conditions if c["type"] == "Ready")
        taints = [t for t in node["spec"].get("taints") or [] if t.get("key") not in _LIFECYCLE_TAINTS]
        if node["spec"].get("unschedulable"):
            taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": fmt(since)})
        for cond in conditions:
            if cond["type"] in PRESSURE_TAINTS and cond["status"] == "True":
                taints.append({"key": PRESSURE_TAINTS[cond["type"]], "effect": "NoSchedule",
                               "timeAdded": cond["lastTransitionTime"]})
        if ready["status"] != "True":
            key = UNREACHABLE_TAINT if ready["status"] == "Unknown" else NOT_READY_TAINT
            added = ready["lastTransitionTime"]
            taints += [
                {"key": key, "effect": "NoSchedule", "timeAdded": added},
                {"key": key, "effect": "NoExecute", "timeAdded": added},
            ]
        if taints:
            node["spec"]["taints"] = taints
        else:
            node["spec"].pop("taints", None)
        cluster.save(node)
        if ready["status"] != "True":
            cluster.event(
                node,
                "NodeNotReady",
                f"Node {node['metadata']['name']} status is now: NodeNotReady",
                component="node-controller",
                count=1,
                first=stopped + timedelta(seconds=40),
            )


def pressure(cluster: Cluster, node: Obj, facts: NodeFacts) -> set[str]:
    """The pressure conditions the kubelet's eviction manager reports from its signals (hard thresholds)."""
    found = set()
    capacity = facts.capacity or facts.allocatable
    if facts.memory_used and to_bytes(capacity.memory) - to_bytes(facts.memory_used) < MEMORY_AVAILABLE_MIN:
        found.add("MemoryPressure")
    used, total = node_disk(cluster, facts.name)
    if total and total - used < NODEFS_AVAILABLE_MIN * total:
        found.add("DiskPressure")
    return found


def _conditions(facts: NodeFacts, since, stopped, under: set[str]) -> list[Obj]:  # type: ignore[no-untyped-def]
    healthy = [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]
    healthy = [(t, "True", *_PRESSURE[t]) if t in under else (t, s, r, m) for t, s, r, m in healthy]
    out = []
    for type_, status, reason, message in healthy:
        cond = {
            "type": type_,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": fmt(stopped if facts.kubelet_stopped else since),
            "lastTransitionTime": fmt(since),
        }
        if facts.kubelet_stopped:
            cond.update(
                status="Unknown",
                reason="NodeStatusUnknown",
                message="Kubelet stopped posting node status.",
                lastTransitionTime=fmt(stopped + timedelta(seconds=40)),
            )
        out.append(cond)
    for override in facts.conditions:
        cond = next((c for c in out if c["type"] == override.type), None)
        if cond is None:
            cond = {"type": override.type, "lastHeartbeatTime": fmt(stopped), "lastTransitionTime": fmt(stopped)}
            out.append(cond)
        cond.update(status=override.status, reason=override.reason, message=override.message)
        cond["lastTransitionTime"] = fmt(stopped)
    return out
