"""Describe a Node, a Service or a PersistentVolumeClaim like kubectl, with related events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kubernetes.utils import parse_quantity
from pydantic import Field

from agents.safety.validation import Namespace, ObjectName, ToolParams
from agents.toolsets.base import ToolEnv, ToolOutput
from agents.toolsets.kubernetes.reader import cluster_reader
from agents.toolsets.kubernetes.render import (
    conditions_block,
    event_data,
    events_block,
    header,
    labels,
    pod_status,
    quantities,
    table,
)
from agents.toolsets.kubernetes.toolset import KUBERNETES
from agents.toolsets.kubernetes.workloads import DescribeParams

Obj = dict[str, Any]


class DescribeNodeParams(ToolParams):
    name: ObjectName = Field(description="Node name.")


def _sum(pods: list[Obj], kind: str, resource: str) -> Decimal:
    total = Decimal(0)
    for pod in pods:
        for c in pod.get("spec", {}).get("containers") or []:
            value = (c.get("resources") or {}).get(kind, {}).get(resource)
            if value is not None:
                total += parse_quantity(value)
    return total


def _human(value: Decimal, key: str) -> str:
    return f"{int(value * 1000)}m" if key.endswith("cpu") else f"{int(value / (1024 * 1024))}Mi"


def _percent(used: Decimal, whole: Any) -> str:
    try:
        return f"{int(used * 100 / parse_quantity(whole))}%" if whole and parse_quantity(whole) else "-"
    except (ValueError, ArithmeticError):
        return "-"


@KUBERNETES.tool(params=DescribeNodeParams, kind="Node", output_cap=8000, transformers=("redact", "truncate_head"))
def describe_node(env: ToolEnv, p: DescribeNodeParams) -> ToolOutput:
    """Describe a node like kubectl: conditions (Ready, MemoryPressure, DiskPressure...), taints,
    unschedulable, capacity/allocatable, allocated requests/limits, the pods on it and its events. Use it for
    NotReady nodes and for pods that cannot be scheduled."""
    reader = cluster_reader(env)
    node = reader.get("Node", None, p.name)
    spec, status = node.get("spec", {}), node.get("status", {})
    pods = [pod for pod in reader.list("Pod", None, field_selector=f"spec.nodeName={p.name}")
            if pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
    taints = [f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
              for t in spec.get("taints") or []]
    info = status.get("nodeInfo", {})
    lines = header(node, [("Taints", ", ".join(taints) or "<none>"), ("Unschedulable", spec.get("unschedulable", False)),
                          ("Kubelet", info.get("kubeletVersion"))])
    lines.append(conditions_block(status.get("conditions")))
    lines.append(f"Addresses:    {', '.join(a.get('type', '') + '=' + a.get('address', '') for a in status.get('addresses') or [])}")
    lines.append(f"Capacity:     {quantities(status.get('capacity'))}")
    allocatable = status.get("allocatable") or {}
    lines.append(f"Allocatable:  {quantities(allocatable)}")
    allocated = {f"{kind}.{res}": _sum(pods, kind, res) for kind in ("requests", "limits") for res in ("cpu", "memory")}
    lines.append("Allocated resources: " + ", ".join(
        f"{key} {_human(value, key)} ({_percent(value, allocatable.get(key.split('.')[1]))})"
        for key, value in allocated.items()))
    rows = [[pod["metadata"].get("namespace"), pod["metadata"]["name"], pod_status(pod)] for pod in pods]
    lines.append(f"Non-terminated Pods: ({len(pods)} in total)")
    if rows:
        lines += ["  " + line for line in table(["Namespace", "Name", "Status"], rows).splitlines()]
    events = reader.events_for("Node", None, p.name)
    lines.append(events_block(events))
    data = {"kind": "Node", "name": p.name, "labels": node["metadata"].get("labels") or {},
            "taints": spec.get("taints") or [], "unschedulable": spec.get("unschedulable", False),
            "conditions": status.get("conditions") or [], "capacity": status.get("capacity") or {},
            "allocatable": allocatable, "allocated": {k: _human(v, k) for k, v in allocated.items()},
            "pods": [{"namespace": r[0], "name": r[1], "status": r[2]} for r in rows],
            "events": [event_data(e) for e in events]}
    return ToolOutput("\n".join(lines), data)


@KUBERNETES.tool(params=DescribeParams, kind="Service", output_cap=6000, transformers=("redact", "truncate_head"))
def describe_service(env: ToolEnv, p: DescribeParams) -> ToolOutput:
    """Describe a Service like kubectl: type, cluster IP, ports and target ports, selector, endpoints (ready
    addresses), and how many pods its selector matches. Use it when a service is unreachable."""
    reader = cluster_reader(env)
    svc = reader.get("Service", p.namespace, p.name)
    spec = svc.get("spec", {})
    selector = spec.get("selector") or {}
    matching = reader.list("Pod", p.namespace, label_selector=labels(selector)) if selector else []
    endpoints = reader.maybe_get("Endpoints", p.namespace, p.name) or {}
    ready = [f"{a.get('ip')}:{port.get('port')}" for s in endpoints.get("subsets") or []
             for a in s.get("addresses") or [] for port in s.get("ports") or [{}]]
    not_ready = [a.get("ip") for s in endpoints.get("subsets") or [] for a in s.get("notReadyAddresses") or []]
    ports = ", ".join(f"{pt.get('name', '<unset>')} {pt.get('port')}/{pt.get('protocol', 'TCP')} -> "
                      f"{pt.get('targetPort', pt.get('port'))}" for pt in spec.get("ports") or [])
    lines = header(svc, [("Selector", labels(selector)), ("Type", spec.get("type", "ClusterIP")),
                         ("IP", spec.get("clusterIP")), ("Ports", ports or "<none>"),
                         ("Endpoints", ", ".join(ready) or "<none>"),
                         ("NotReady", ", ".join(str(a) for a in not_ready)),
                         ("Matching Pods", f"{len(matching)} ({', '.join(m['metadata']['name'] for m in matching[:10])})"
                          if selector else "no selector")])
    events = reader.events_for("Service", p.namespace, p.name)
    lines.append(events_block(events))
    data = {"kind": "Service", "namespace": p.namespace, "name": p.name, "type": spec.get("type", "ClusterIP"),
            "selector": selector, "ports": spec.get("ports") or [], "clusterIP": spec.get("clusterIP"),
            "endpoints": ready, "notReadyAddresses": not_ready,
            "matchingPods": [m["metadata"]["name"] for m in matching], "events": [event_data(e) for e in events]}
    return ToolOutput("\n".join(lines), data)


class DescribePvcParams(ToolParams):
    namespace: Namespace
    name: ObjectName = Field(description="PersistentVolumeClaim name.")


@KUBERNETES.tool(params=DescribePvcParams, kind="PersistentVolumeClaim", output_cap=6000,
                 transformers=("redact", "truncate_head"))
def describe_pvc(env: ToolEnv, p: DescribePvcParams) -> ToolOutput:
    """Describe a PersistentVolumeClaim like kubectl: status (Bound/Pending), volume, storage class (and
    whether it exists), capacity, access modes, the pods using it and its events (ProvisioningFailed)."""
    reader = cluster_reader(env)
    pvc = reader.get("PersistentVolumeClaim", p.namespace, p.name)
    spec, status = pvc.get("spec", {}), pvc.get("status", {})
    storage_class = spec.get("storageClassName")
    class_exists = None if not storage_class else reader.maybe_get("StorageClass", None, storage_class) is not None
    users = [pod["metadata"]["name"] for pod in reader.list("Pod", p.namespace)
             if any((v.get("persistentVolumeClaim") or {}).get("claimName") == p.name
                    for v in pod.get("spec", {}).get("volumes") or [])]
    lines = header(pvc, [
        ("StorageClass", (storage_class or "<default>") + (" (does not exist)" if class_exists is False else "")),
        ("Status", status.get("phase")), ("Volume", spec.get("volumeName")),
        ("Capacity", quantities(status.get("capacity"))),
        ("Requested", quantities(spec.get("resources", {}).get("requests"))),
        ("Access Modes", ",".join(spec.get("accessModes") or [])), ("VolumeMode", spec.get("volumeMode")),
        ("Used By", ", ".join(users) or "<none>")])
    events = reader.events_for("PersistentVolumeClaim", p.namespace, p.name)
    lines.append(events_block(events))
    data = {"kind": "PersistentVolumeClaim", "namespace": p.namespace, "name": p.name, "phase": status.get("phase"),
            "storageClassName": storage_class, "storageClassExists": class_exists, "volumeName": spec.get("volumeName"),
            "capacity": status.get("capacity") or {}, "requests": spec.get("resources", {}).get("requests") or {},
            "accessModes": spec.get("accessModes") or [], "usedBy": users, "events": [event_data(e) for e in events]}
    return ToolOutput("\n".join(lines), data)
