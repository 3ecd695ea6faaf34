"""Turn a tool's structured output (`ToolResult.data`) into Kubernetes-shaped objects for the checks.

The kubernetes toolset returns compact summaries (`{"kind": "Pod", "name": ..., "containers": [...],
"events": [...]}`) next to its kubectl-like text; checks are written against the API's own shape
(metadata/spec/status, involvedObject), which is stable and what table tests write by hand. Objects
that already have `metadata` (get_resource_yaml) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Obj = dict[str, Any]
_CONTAINER_STATUS = ("state", "lastState", "ready", "restartCount", "imageID", "started")


def _meta(data: Obj) -> Obj:
    meta: Obj = {"name": data["name"], "labels": data.get("labels") or {}, "annotations": data.get("annotations") or {}}
    if data.get("namespace"):
        meta["namespace"] = data["namespace"]
    if isinstance(data.get("owner"), str) and "/" in data["owner"]:
        kind, name = data["owner"].split("/", 1)
        meta["ownerReferences"] = [{"kind": kind, "name": name, "controller": True}]
    return meta


def event(data: Obj) -> Obj:
    """`event_data` (object: {...}) back to a core/v1 Event (involvedObject: {...})."""
    if "involvedObject" in data:
        return data
    involved = {k: v for k, v in (data.get("object") or {}).items() if v is not None}
    return {"type": data.get("type"), "reason": data.get("reason"), "message": data.get("message"),
            "count": data.get("count"), "involvedObject": involved}


def _events(data: Obj) -> Iterator[tuple[str, Obj]]:
    for item in data.get("events") or []:
        yield "Event", event(item)


def _split_containers(containers: list[Obj]) -> tuple[list[Obj], list[Obj]]:
    specs = [{k: v for k, v in c.items() if k not in _CONTAINER_STATUS} for c in containers]
    statuses = [{"name": c["name"], "image": c.get("image"), **{k: c[k] for k in _CONTAINER_STATUS if k in c}}
                for c in containers if any(k in c for k in _CONTAINER_STATUS)]
    return specs, statuses


def pod(data: Obj) -> Iterator[tuple[str, Obj]]:
    """describe_pod's summary, or one list_pods row (then only phase/readiness are known)."""
    containers, statuses = _split_containers(data.get("containers") or [])
    init, init_statuses = _split_containers(data.get("initContainers") or [])
    spec: Obj = {"containers": containers, "initContainers": init, "volumes": data.get("volumes") or [],
                 "nodeSelector": data.get("nodeSelector"), "tolerations": data.get("tolerations") or [],
                 "nodeName": data.get("node"), "serviceAccountName": data.get("serviceAccountName")}
    summary = data.get("status")  # kubectl's STATUS column: Running, CrashLoopBackOff, Pending, Completed...
    status: Obj = {"phase": data.get("phase") or _phase(summary), "reason": data.get("reason") or (
        summary if summary not in ("Running", "Pending", "Completed", "Succeeded") else None),
        "message": data.get("message"), "conditions": data.get("conditions") or [],
        "containerStatuses": statuses, "initContainerStatuses": init_statuses}
    if "ready" in data and not status["conditions"]:
        ready, _, total = str(data["ready"]).partition("/")
        status["conditions"] = [{"type": "Ready", "status": "True" if ready == total else "False"}]
    yield "Pod", {"kind": "Pod", "metadata": _meta(data), "spec": spec, "status": status}
    yield from _events(data)


def _phase(summary: str | None) -> str | None:
    if summary in ("Running", "Pending", "Succeeded", "Failed", "Unknown"):
        return summary
    if summary == "Completed":
        return "Succeeded"
    return "Pending" if summary in ("ContainerCreating", "PodInitializing") or str(summary).startswith("Init:") else None


def workload(data: Obj) -> Iterator[tuple[str, Obj]]:
    """describe_deployment / describe_replicaset / describe_statefulset, or a list_workloads row."""
    conditions = list(data.get("conditions") or [])
    if data.get("problem"):  # list_workloads: "ReplicaFailure=True FailedCreate: Error creating: ..."
        head, _, message = data["problem"].partition(": ")
        type_status, _, reason = head.partition(" ")
        type_, _, status = type_status.partition("=")
        conditions.append({"type": type_, "status": status, "reason": reason, "message": message})
    spec = {"replicas": data.get("replicas"), "selector": data.get("selector"),
            "template": {"spec": {"containers": data.get("containers") or []}}}
    yield data["kind"], {"kind": data["kind"], "metadata": _meta(data), "spec": spec,
                         "status": {**(data.get("status") or {}), "conditions": conditions}}
    yield from _events(data)


def node(data: Obj) -> Iterator[tuple[str, Obj]]:
    yield "Node", {"kind": "Node", "metadata": _meta(data),
                   "spec": {"taints": data.get("taints") or [], "unschedulable": data.get("unschedulable")},
                   "status": {"conditions": data.get("conditions") or [], "capacity": data.get("capacity") or {},
                              "allocatable": data.get("allocatable") or {}}}
    yield from _events(data)


def service(data: Obj) -> Iterator[tuple[str, Obj]]:
    """describe_service: the Service and its Endpoints (ready `ip:port` strings, not-ready IPs)."""
    meta = _meta(data)
    yield "Service", {"kind": "Service", "metadata": meta, "spec": {
        "selector": data.get("selector") or {}, "ports": data.get("ports") or [], "type": data.get("type"),
        "clusterIP": data.get("clusterIP"), "matchingPods": data.get("matchingPods") or []}}
    ready = [{"ip": str(a).rsplit(":", 1)[0]} for a in data.get("endpoints") or []]
    not_ready = [{"ip": str(a)} for a in data.get("notReadyAddresses") or []]
    subsets = [{"addresses": ready, "notReadyAddresses": not_ready}] if ready or not_ready else []
    yield "Endpoints", {"kind": "Endpoints", "metadata": {k: v for k, v in meta.items() if k in ("name", "namespace")},
                        "subsets": subsets}
    yield from _events(data)


def endpoints(data: Obj) -> Iterator[tuple[str, Obj]]:
    """get_endpoints: the addresses, and the Service's ports with whether each targetPort exists on its pods."""
    meta = {"name": data["service"], "namespace": data.get("namespace")}
    addresses = data.get("addresses") or []
    subsets = [{"addresses": [{"ip": a["ip"]} for a in addresses if a.get("ready")],
                "notReadyAddresses": [{"ip": a["ip"]} for a in addresses if not a.get("ready")]}] if addresses else []
    yield "Endpoints", {"kind": "Endpoints", "metadata": meta, "subsets": subsets}
    # Not API fields: what get_endpoints found out about the Service (kept beside the spec it describes).
    checks = [{"port": p.get("port"), "targetPort": p.get("targetPort"), "foundOnPods": p.get("foundOnPods")}
              for p in data.get("ports") or []]
    yield "Service", {"kind": "Service", "metadata": dict(meta), "spec": {
        "selector": data.get("selector") or {}, "portChecks": checks, "matchingPods": data.get("matchingPods") or [],
        "matchingPodLabels": data.get("matchingPodLabels") or []}}
    for policy in data.get("networkPolicies") or []:
        if isinstance(policy, dict) and (policy.get("metadata") or {}).get("name"):
            yield "NetworkPolicy", policy


def pvc(data: Obj) -> Iterator[tuple[str, Obj]]:
    yield "PersistentVolumeClaim", {"kind": "PersistentVolumeClaim", "metadata": _meta(data), "spec": {
        "storageClassName": data.get("storageClassName"), "storageClassExists": data.get("storageClassExists"),
        "resources": {"requests": data.get("requests") or {}}, "accessModes": data.get("accessModes") or [],
        "volumeName": data.get("volumeName")}, "status": {"phase": data.get("phase"), "capacity": data.get("capacity") or {}},
        "usedBy": data.get("usedBy") or []}  # describe's "Used By": the pods that mount the claim
    yield from _events(data)


def usage(rows: list[Obj]) -> Iterator[tuple[str, Obj]]:
    """get_resource_usage rows (one per container) as PodMetrics objects; node rows as Nodes with their allocatable."""
    by_pod: dict[tuple[str | None, str], list[Obj]] = {}
    for row in rows:
        if row.get("node") and not row.get("pod") and row.get("allocatable"):
            yield "Node", {"kind": "Node", "metadata": {"name": row["node"]}, "status": {"allocatable": row["allocatable"]}}
        if row.get("pod"):
            by_pod.setdefault((row.get("namespace"), row["pod"]), []).append(
                {"name": row.get("container"), "usage": row.get("usage") or {}})
    for (namespace, name), containers in by_pod.items():
        yield "PodMetrics", {"kind": "PodMetrics", "metadata": {"name": name, "namespace": namespace}, "containers": containers}


def revisions(rows: list[Obj], namespace: str | None) -> Iterator[tuple[str, Obj]]:
    """get_rollout_history rows as ReplicaSets with the containers each revision ran."""
    for row in rows:
        containers = ((row.get("template") or {}).get("spec") or {}).get("containers") or [
            {"name": pair.split("=", 1)[0], "image": pair.split("=", 1)[1]}
            for pair in str(row.get("images") or "").split(", ") if "=" in pair]
        yield "ReplicaSet", {"kind": "ReplicaSet", "metadata": {
            "name": row["name"], "namespace": namespace,
            "annotations": {"deployment.kubernetes.io/revision": str(row.get("revision"))}},
            "spec": {"template": {"spec": {"containers": containers}}}}


_BY_KIND: dict[str, Callable[[Obj], Iterator[tuple[str, Obj]]]] = {
    "Pod": pod, "Deployment": workload, "ReplicaSet": workload, "StatefulSet": workload, "DaemonSet": workload,
    "Job": workload, "CronJob": workload, "Node": node, "Service": service, "PersistentVolumeClaim": pvc,
}


def objects(tool: str, data: Any, args: Obj) -> Iterator[tuple[str, Obj]]:
    """Every (kind, object) a tool's output shows."""
    if data is None:
        return
    if tool == "get_resource_usage":
        yield from usage(data if isinstance(data, list) else [])
    elif tool == "get_rollout_history":
        yield from revisions(data if isinstance(data, list) else [], args.get("namespace"))
    elif tool == "list_image_tags" and isinstance(data, dict):
        # A registry's answer, kept like an object so checks can ask for it by repository.
        yield "ImageTags", {"kind": "ImageTags", "metadata": {"name": f"{data.get('registry')}/{data.get('repository')}"},
                            "tags": list(data.get("tags") or [])}
    elif tool == "get_endpoints" and isinstance(data, dict):
        yield from endpoints(data)
    elif tool == "get_events":
        for item in data if isinstance(data, list) else []:
            yield "Event", event(item)
    elif isinstance(data, list):
        for item in data:
            yield from objects(tool, item, args)
    elif isinstance(data, dict) and isinstance(data.get("metadata"), dict) and data.get("kind"):
        yield data["kind"], data  # a full object (get_resource_yaml)
    elif isinstance(data, dict) and data.get("name"):
        kind = data.get("kind") or ("Pod" if tool == "list_pods" else None)
        if kind in _BY_KIND:
            yield from _BY_KIND[kind](data)
