"""Pods: list with status, and describe like `kubectl describe pod` with the pod's events."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agents.safety.validation import LabelSelector, Namespace, ObjectName, ToolParams
from agents.toolsets.base import ToolEnv, ToolOutput, ToolStatus
from agents.toolsets.kubernetes.containers import container_block, container_data, volume_line
from agents.toolsets.kubernetes.reader import cluster_reader
from agents.toolsets.kubernetes.render import (
    age,
    conditions_block,
    event_data,
    events_block,
    header,
    owner,
    pod_ready,
    pod_restarts,
    pod_status,
    table,
)
from agents.toolsets.kubernetes.toolset import KUBERNETES

Obj = dict[str, Any]
MAX_ROWS = 200


class ListPodsParams(ToolParams):
    namespace: Namespace | None = Field(None, description="Namespace; omit for all namespaces.")
    label_selector: LabelSelector | None = None
    problems_only: bool = Field(False, description="Only pods that are not Running and Ready (or Succeeded).")


def _healthy(pod: Obj) -> bool:
    status = pod_status(pod)
    ready, total = pod_ready(pod).split("/")
    return status == "Completed" or status == "Succeeded" or (status == "Running" and ready == total)


@KUBERNETES.tool(params=ListPodsParams, output_cap=6000, transformers=("redact", "truncate_head"))
def list_pods(env: ToolEnv, p: ListPodsParams) -> ToolOutput:
    """List pods with READY, STATUS (CrashLoopBackOff, OOMKilled, Pending, ...), RESTARTS, AGE and NODE.
    Start here to find which pods of a namespace or app are unhealthy."""
    pods = cluster_reader(env).list("Pod", p.namespace, label_selector=p.label_selector)
    if p.problems_only:
        pods = [pod for pod in pods if not _healthy(pod)]
    if not pods:
        scope = f"namespace '{p.namespace}'" if p.namespace else "any namespace"
        what = "unhealthy pods" if p.problems_only else "pods"
        return ToolOutput("", [], ToolStatus.NO_DATA, f"no {what} in {scope}"
                          + (f" matching {p.label_selector}" if p.label_selector else ""))
    rows, data = [], []
    for pod in pods[:MAX_ROWS]:
        meta = pod["metadata"]
        row = [pod_ready(pod), pod_status(pod), pod_restarts(pod), age(meta.get("creationTimestamp")),
               pod.get("spec", {}).get("nodeName") or "<none>"]
        rows.append(([meta.get("namespace")] if not p.namespace else []) + [meta["name"], *row])
        data.append({"namespace": meta.get("namespace"), "name": meta["name"], "ready": row[0], "status": row[1],
                     "restarts": row[2], "node": row[4], "labels": meta.get("labels") or {},
                     "owner": owner(pod)})
    headers = (["NAMESPACE"] if not p.namespace else []) + ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"]
    text = table(headers, rows)
    if len(pods) > MAX_ROWS:
        text += f"\n({len(pods) - MAX_ROWS} more pods not shown; narrow with namespace or label_selector)"
    return ToolOutput(text, data)


class DescribePodParams(ToolParams):
    namespace: Namespace
    name: ObjectName = Field(description="Pod name.")


@KUBERNETES.tool(params=DescribePodParams, kind="Pod", output_cap=8000, transformers=("redact", "truncate_head"))
def describe_pod(env: ToolEnv, p: DescribePodParams) -> ToolOutput:
    """Describe one pod like `kubectl describe pod`: status, each container's state and last state (reason,
    exit code), restart count, limits/requests, image, env var names and their sources, mounts, conditions,
    node, volumes, then its events (newest last). Use it on a failing pod to see why it fails."""
    reader = cluster_reader(env)
    pod = reader.get("Pod", p.namespace, p.name)
    events = reader.events_for("Pod", p.namespace, p.name)
    spec, status = pod.get("spec", {}), pod.get("status", {})
    lines = header(pod, [("Node", spec.get("nodeName")), ("Start Time", status.get("startTime")),
                         ("Status", pod_status(pod)), ("Phase", status.get("phase")),
                         ("Reason", status.get("reason")), ("Message", status.get("message")),
                         ("IP", status.get("podIP")), ("QoS Class", status.get("qosClass")),
                         ("Controlled By", owner(pod)),
                         ("Service Account", spec.get("serviceAccountName"))])
    data: Obj = {"kind": "Pod", "namespace": p.namespace, "name": p.name, "node": spec.get("nodeName"),
                 "serviceAccountName": spec.get("serviceAccountName"), "status": pod_status(pod), "phase": status.get("phase"), "reason": status.get("reason"),
                 "message": status.get("message"), "owner": owner(pod),
                 "labels": pod["metadata"].get("labels") or {},
                 "annotations": pod["metadata"].get("annotations") or {}}
    for key, title, status_key in (("initContainers", "Init Containers", "initContainerStatuses"),
                                   ("containers", "Containers", "containerStatuses")):
        by_name = {s.get("name"): s for s in status.get(status_key) or []}
        containers = spec.get(key) or []
        if containers:
            lines.append(f"{title}:")
            for container in containers:
                lines += ["  " + line for line in container_block(container, by_name.get(container["name"]))]
        data[key] = [container_data(c, by_name.get(c["name"])) for c in containers]
    lines.append(conditions_block(status.get("conditions")))
    volumes = [v for v in spec.get("volumes") or [] if not v.get("name", "").startswith("kube-api-access-")]
    lines.append("Volumes:" + ("  <none>" if not volumes else ""))
    lines += [volume_line(v) for v in volumes]
    if spec.get("nodeSelector"):
        lines.append("Node-Selectors:  " + ",".join(f"{k}={v}" for k, v in spec["nodeSelector"].items()))
    tolerations = [t for t in spec.get("tolerations") or [] if not str(t.get("key", "")).startswith("node.kubernetes.io/")]
    if tolerations:
        lines.append("Tolerations:     " + ", ".join(
            f"{t.get('key', '')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect', '')}" for t in tolerations))
    lines.append(events_block(events))
    data.update(conditions=status.get("conditions") or [], volumes=volumes, nodeSelector=spec.get("nodeSelector"),
                tolerations=spec.get("tolerations") or [], events=[event_data(e) for e in events])
    return ToolOutput("\n".join(lines), data)
