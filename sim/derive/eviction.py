"""The kubelet's eviction manager for local storage (pkg/kubelet/eviction): ephemeral-storage limits and
node DiskPressure.

Usage comes from the world: each container's `ephemeral_storage` (writable layer, logs, emptyDirs) grows
linearly to its steady value over `ephemeral_fill` seconds of running; the node adds `disk_used`. A pod
whose usage passes the total of its containers' limits is evicted when it does (localStorageEviction, checked
before node pressure); a node whose nodefs.available falls under the 10 % hard threshold evicts the pods
using most beyond their requests until it is back above it. Messages are the kubelet's (helpers.go):
`Pod ephemeral local storage usage exceeds the total limit of containers 500Mi. ` and
`The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 512000Ki. Container
app was using 48Gi, request is 0, has larger consumption of ephemeral-storage. `
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.derive.context import Cluster, Obj
from sim.derive.world import behaviour, owner_workload
from sim.quantity import QuantityError, format_bytes, to_bytes

NODEFS_AVAILABLE_MIN = 0.10  # pkg/kubelet/eviction/defaults_linux.go: nodefs.available<10%


@dataclass(frozen=True)
class Eviction:
    after: float  # seconds of running until the kubelet evicts the pod
    message: str
    pressure: bool  # node pressure (DisruptionTarget TerminationByKubelet) rather than the pod's own limit


def _writes_locally(cluster: Cluster) -> bool:
    """Whether the world says anything writes to local disk (else there is nothing to add up)."""
    world = cluster.scenario.world
    return any(f.ephemeral_storage is not None for f in [*world.images.values(), *world.containers])


def container_usage(cluster: Cluster, pod: Obj) -> dict[str, tuple[int, float]]:
    """Steady ephemeral-storage bytes and fill seconds per main container, from the world."""
    if not _writes_locally(cluster):
        return {}
    namespace = pod["metadata"].get("namespace") or "default"
    owner = owner_workload(cluster, pod)
    out: dict[str, tuple[int, float]] = {}
    for container in pod["spec"].get("containers") or []:
        b = behaviour(cluster.scenario.world, namespace, owner, container)
        if b.ephemeral_storage is not None:
            out[container["name"]] = (to_bytes(b.ephemeral_storage), max(1.0, b.ephemeral_fill))
    return out


def _resource(container: Obj, section: str) -> int | None:
    value = ((container.get("resources") or {}).get(section) or {}).get("ephemeral-storage")
    try:
        return to_bytes(value) if value is not None else None
    except QuantityError:
        return None


def limit_eviction(pod: Obj, usage: dict[str, tuple[int, float]]) -> Eviction | None:
    """podEphemeralStorageLimitEviction, then containerEphemeralStorageLimitEviction."""
    if not usage:
        return None
    containers = pod["spec"].get("containers") or []
    limits = {c["name"]: lim for c in containers if (lim := _resource(c, "limits")) is not None}
    total = sum(u for u, _ in usage.values())
    fill = max(f for _, f in usage.values())
    if limits and total > sum(limits.values()):
        return Eviction(fill * sum(limits.values()) / total,
                        f"Pod ephemeral local storage usage exceeds the total limit of containers "
                        f"{format_bytes(sum(limits.values()))}. ", False)
    for name, limit in limits.items():
        used, own_fill = usage.get(name, (0, 1.0))
        if used > limit:
            written = next(c for c in containers if c["name"] == name)["resources"]["limits"]["ephemeral-storage"]
            return Eviction(own_fill * limit / used,
                            f'Container {name} exceeded its local ephemeral storage limit "{written}". ', False)
    return None


def _running_on(cluster: Cluster, node: str) -> list[Obj]:
    return [p for p in cluster.list("Pod") if p["spec"].get("nodeName") == node
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not p["metadata"].get("deletionTimestamp")]


def node_disk(cluster: Cluster, node: str) -> tuple[int, int]:
    """(bytes used, capacity) of the node's root filesystem: `disk_used` plus the steady usage of the pods
    that run there and are not evicted for their own limit (the kubelet's summary API adds these up)."""
    facts = next((n for n in cluster.scenario.nodes if n.name == node), None)
    if facts is None:
        return 0, 0
    capacity = to_bytes((facts.capacity or facts.allocatable).ephemeral_storage)
    used = to_bytes(facts.disk_used) if facts.disk_used else 0
    for pod in _running_on(cluster, node):
        usage = container_usage(cluster, pod)
        if limit_eviction(pod, usage) is None:
            used += sum(u for u, _ in usage.values())
    return used, capacity


def pressure_eviction(cluster: Cluster, pod: Obj) -> Eviction | None:
    """Whether DiskPressure on the pod's node evicts it: pods ranked by usage beyond their ephemeral-storage
    request (rankDiskPressureFunc), evicted in turn until nodefs.available is back above the threshold."""
    node = pod["spec"].get("nodeName")
    if not node:
        return None
    used, capacity = node_disk(cluster, node)
    threshold = int(capacity * NODEFS_AVAILABLE_MIN)
    if not capacity or capacity - used >= threshold:
        return None
    ranked = []
    for other in _running_on(cluster, node):
        usage = container_usage(cluster, other)
        if not usage or limit_eviction(other, usage) is not None:
            continue
        requests = {c["name"]: _resource(c, "requests") or 0 for c in other["spec"].get("containers") or []}
        beyond = sum(u for u, _ in usage.values()) - sum(requests.values())
        ranked.append((-beyond, other["metadata"].get("creationTimestamp") or "", other["metadata"]["name"],
                       usage, requests))
    available = capacity - used
    for _, _, name, usage, requests in sorted(ranked, key=lambda r: r[:3]):
        if available >= threshold:
            return None
        if name == pod["metadata"]["name"]:
            message = (f"The node was low on resource: ephemeral-storage. Threshold quantity: {format_bytes(threshold)}, "
                       f"available: {max(0, available) // 1024}Ki. ")
            for container, (bytes_used, _) in usage.items():
                if bytes_used > requests.get(container, 0):
                    message += (f"Container {container} was using {format_bytes(bytes_used)}, request is "
                                f"{format_bytes(requests.get(container, 0))}, has larger consumption of ephemeral-storage. ")
            return Eviction(max(f for _, f in usage.values()), message, True)
        available += sum(u for u, _ in usage.values())
    return None


def eviction_for(cluster: Cluster, pod: Obj) -> Eviction | None:
    """The local-storage eviction that ends this pod, if any (its own limit first, then node pressure)."""
    if not _writes_locally(cluster):
        return None
    return limit_eviction(pod, container_usage(cluster, pod)) or pressure_eviction(cluster, pod)
