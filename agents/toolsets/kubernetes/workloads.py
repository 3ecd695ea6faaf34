"""Workloads: list Deployments/StatefulSets/DaemonSets/Jobs/CronJobs with their health, and describe
Deployments, ReplicaSets, StatefulSets and DaemonSets like kubectl (replicas, strategy, conditions,
pod template, events)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from agents.safety.validation import LabelSelector, Namespace, ObjectName, ToolParams
from agents.toolsets.base import ToolEnv, ToolOutput, ToolStatus
from agents.toolsets.kubernetes.containers import container_block, container_data, volume_line
from agents.toolsets.kubernetes.reader import ClusterReader, cluster_reader
from agents.toolsets.kubernetes.render import (
    age,
    conditions_block,
    event_data,
    events_block,
    header,
    labels,
    owner,
    table,
)
from agents.toolsets.kubernetes.toolset import KUBERNETES

Obj = dict[str, Any]
WorkloadKind = Literal["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]
ALL_KINDS: tuple[WorkloadKind, ...] = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


class ListWorkloadsParams(ToolParams):
    namespace: Namespace | None = Field(None, description="Namespace; omit for all namespaces.")
    kinds: list[WorkloadKind] | None = Field(None, max_length=5, description="Kinds to list; omit for all.")
    label_selector: LabelSelector | None = None


def _ready(kind: str, obj: Obj) -> tuple[str, bool]:
    """READY column and whether the workload is healthy by its own status."""
    spec, status = obj.get("spec", {}), obj.get("status", {})
    if kind in ("Deployment", "StatefulSet"):
        want, ready = spec.get("replicas", 1), status.get("readyReplicas", 0)
        return f"{ready}/{want}", ready >= want
    if kind == "DaemonSet":
        want, ready = status.get("desiredNumberScheduled", 0), status.get("numberReady", 0)
        return f"{ready}/{want}", ready >= want
    if kind == "Job":
        failed = any(c.get("type") == "Failed" and c.get("status") == "True" for c in status.get("conditions") or [])
        done = f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}"
        return done + (" Failed" if failed else ""), not failed
    return ("suspended" if spec.get("suspend") else f"schedule {spec.get('schedule')}"), True


def _problem(obj: Obj) -> str:
    """The first condition that says something is wrong (ProgressDeadlineExceeded, ReplicaFailure...)."""
    for c in obj.get("status", {}).get("conditions") or []:
        bad = (c.get("type") in ("Available", "Progressing") and c.get("status") == "False") or (
            c.get("type") in ("ReplicaFailure", "Failed") and c.get("status") == "True") or (
            c.get("reason") == "ProgressDeadlineExceeded")
        if bad:
            return f"{c.get('type')}={c.get('status')} {c.get('reason', '')}: {' '.join(str(c.get('message', '')).split())}"
    return ""


@KUBERNETES.tool(params=ListWorkloadsParams, output_cap=6000, transformers=("redact", "truncate_head"))
def list_workloads(env: ToolEnv, p: ListWorkloadsParams) -> ToolOutput:
    """List Deployments, StatefulSets, DaemonSets, Jobs and CronJobs with READY, AGE and any failing
    condition (ProgressDeadlineExceeded, ReplicaFailure, BackoffLimitExceeded). Use it for an overview."""
    reader = cluster_reader(env)
    rows, data = [], []
    for kind in p.kinds or ALL_KINDS:
        for obj in reader.list(kind, p.namespace, label_selector=p.label_selector):
            meta = obj["metadata"]
            ready, healthy = _ready(kind, obj)
            problem = _problem(obj)
            rows.append([kind, meta.get("namespace"), meta["name"], ready, age(meta.get("creationTimestamp")), problem])
            data.append({"kind": kind, "namespace": meta.get("namespace"), "name": meta["name"], "ready": ready,
                         "healthy": healthy and not problem, "problem": problem or None})
    if not rows:
        return ToolOutput("", [], ToolStatus.NO_DATA,
                          f"no workloads in {'namespace ' + repr(p.namespace) if p.namespace else 'the cluster'}")
    return ToolOutput(table(["KIND", "NAMESPACE", "NAME", "READY", "AGE", "PROBLEM"], rows), data)


class DescribeParams(ToolParams):
    namespace: Namespace
    name: ObjectName


def template_lines(template: Obj) -> tuple[list[str], list[Obj]]:
    spec = template.get("spec", {})
    lines = ["Pod Template:", f"  Labels:  {labels(template.get('metadata', {}).get('labels'))}"]
    if spec.get("serviceAccountName"):
        lines.append(f"  Service Account:  {spec['serviceAccountName']}")
    for key, title in (("initContainers", "Init Containers"), ("containers", "Containers")):
        if spec.get(key):
            lines.append(f"  {title}:")
            for container in spec[key]:
                lines += ["    " + line for line in container_block(container)]
    if spec.get("volumes"):
        lines.append("  Volumes:")
        lines += ["  " + volume_line(v) for v in spec["volumes"]]
    if spec.get("nodeSelector"):
        lines.append(f"  Node-Selectors:  {labels(spec['nodeSelector'])}")
    return lines, [container_data(c) for c in spec.get("containers") or []]


def describe_workload(reader: ClusterReader, kind: str, namespace: str, name: str,
                      extra: list[tuple[str, Any]]) -> ToolOutput:
    obj = reader.get(kind, namespace, name)
    events = reader.events_for(kind, namespace, name)
    status = obj.get("status", {})
    lines = header(obj, [("Controlled By", owner(obj)), *extra])
    template, containers = template_lines(obj.get("spec", {}).get("template", {}))
    lines += template
    lines.append(conditions_block(status.get("conditions")))
    lines.append(events_block(events))
    data = {"kind": kind, "namespace": namespace, "name": name, "labels": obj["metadata"].get("labels") or {},
            "annotations": obj["metadata"].get("annotations") or {}, "owner": owner(obj),
            "generation": obj["metadata"].get("generation"),
            "updateStrategy": (obj.get("spec", {}).get("updateStrategy") or obj.get("spec", {}).get("strategy")
                               or {}).get("type"),
            "replicas": obj.get("spec", {}).get("replicas"), "selector": obj.get("spec", {}).get("selector"),
            "status": {k: v for k, v in status.items() if k != "conditions"}, "containers": containers,
            "conditions": status.get("conditions") or [], "events": [event_data(e) for e in events]}
    return ToolOutput("\n".join(lines), data)


def _replicas(obj_status: Obj, want: Any) -> str:
    return (f"{want} desired | {obj_status.get('updatedReplicas', 0)} updated | {obj_status.get('replicas', 0)} total"
            f" | {obj_status.get('availableReplicas', 0)} available | {obj_status.get('unavailableReplicas', 0)}"
            " unavailable")


@KUBERNETES.tool(params=DescribeParams, kind="Deployment", output_cap=8000, transformers=("redact", "truncate_head"))
def describe_deployment(env: ToolEnv, p: DescribeParams) -> ToolOutput:
    """Describe a Deployment like kubectl: replicas (desired/updated/available), strategy, selector, pod
    template (images, limits/requests, env var names, probes), conditions (Available, Progressing,
    ProgressDeadlineExceeded), current ReplicaSets and events."""
    reader = cluster_reader(env)
    obj = reader.get("Deployment", p.namespace, p.name)
    spec, status = obj.get("spec", {}), obj.get("status", {})
    strategy = spec.get("strategy", {})
    rolling = strategy.get("rollingUpdate") or {}
    sets = [rs for rs in reader.list("ReplicaSet", p.namespace) if owner(rs) == f"Deployment/{p.name}"]
    current = ", ".join(f"{rs['metadata']['name']} ({rs.get('status', {}).get('replicas', 0)} replicas, revision "
                        f"{rs['metadata'].get('annotations', {}).get('deployment.kubernetes.io/revision', '?')})"
                        for rs in sets if rs.get("spec", {}).get("replicas", 0) > 0)
    out = describe_workload(reader, "Deployment", p.namespace, p.name, [
        ("Selector", labels(spec.get("selector", {}).get("matchLabels"))),
        ("Replicas", _replicas(status, spec.get("replicas", 1))),
        ("Strategy", strategy.get("type", "RollingUpdate")
         + (f" (maxUnavailable {rolling.get('maxUnavailable', '25%')}, maxSurge {rolling.get('maxSurge', '25%')})"
            if strategy.get("type", "RollingUpdate") == "RollingUpdate" else "")),
        ("ReplicaSets", current or "<none>")])
    out.data["replicaSets"] = [rs["metadata"]["name"] for rs in sets]
    return out


@KUBERNETES.tool(params=DescribeParams, kind="ReplicaSet", output_cap=8000, transformers=("redact", "truncate_head"))
def describe_replicaset(env: ToolEnv, p: DescribeParams) -> ToolOutput:
    """Describe a ReplicaSet like kubectl: owner Deployment, replicas current/desired/ready, pod template,
    conditions (ReplicaFailure: e.g. quota or admission refused pod creation) and events (FailedCreate)."""
    reader = cluster_reader(env)
    obj = reader.get("ReplicaSet", p.namespace, p.name)
    status = obj.get("status", {})
    return describe_workload(reader, "ReplicaSet", p.namespace, p.name, [
        ("Replicas", f"{status.get('replicas', 0)} current / {obj.get('spec', {}).get('replicas', 0)} desired / "
                     f"{status.get('readyReplicas', 0)} ready")])


@KUBERNETES.tool(params=DescribeParams, kind="StatefulSet", output_cap=8000, transformers=("redact", "truncate_head"))
def describe_statefulset(env: ToolEnv, p: DescribeParams) -> ToolOutput:
    """Describe a StatefulSet like kubectl: replicas, service name, update strategy, pod template, volume
    claim templates, conditions and events."""
    reader = cluster_reader(env)
    obj = reader.get("StatefulSet", p.namespace, p.name)
    spec, status = obj.get("spec", {}), obj.get("status", {})
    claims = ", ".join(f"{c.get('metadata', {}).get('name')} "
                       f"({c.get('spec', {}).get('resources', {}).get('requests', {}).get('storage', '?')}, "
                       f"class {c.get('spec', {}).get('storageClassName') or '<default>'})"
                       for c in spec.get("volumeClaimTemplates") or [])
    return describe_workload(reader, "StatefulSet", p.namespace, p.name, [
        ("Service Name", spec.get("serviceName")),
        ("Replicas", f"{spec.get('replicas', 1)} desired | {status.get('replicas', 0)} total | "
                     f"{status.get('readyReplicas', 0)} ready"),
        ("Update Strategy", spec.get("updateStrategy", {}).get("type", "RollingUpdate")),
        ("Volume Claims", claims)])


@KUBERNETES.tool(params=DescribeParams, kind="DaemonSet", output_cap=8000, transformers=("redact", "truncate_head"))
def describe_daemonset(env: ToolEnv, p: DescribeParams) -> ToolOutput:
    """Describe a DaemonSet like kubectl: nodes desired/current/up-to-date/ready/available, node selector,
    update strategy, pod template (images, imagePullSecrets, limits), conditions and events."""
    reader = cluster_reader(env)
    obj = reader.get("DaemonSet", p.namespace, p.name)
    spec, status = obj.get("spec", {}), obj.get("status", {})
    pod_spec = spec.get("template", {}).get("spec") or {}
    return describe_workload(reader, "DaemonSet", p.namespace, p.name, [
        ("Selector", labels(spec.get("selector", {}).get("matchLabels"))),
        ("Node-Selector", labels(pod_spec.get("nodeSelector"))),
        ("Nodes", f"{status.get('desiredNumberScheduled', 0)} desired | {status.get('currentNumberScheduled', 0)} "
                  f"current | {status.get('updatedNumberScheduled', 0)} up-to-date | {status.get('numberReady', 0)} "
                  f"ready | {status.get('numberAvailable', 0)} available | "
                  f"{status.get('numberMisscheduled', 0)} misscheduled"),
        ("Update Strategy", spec.get("updateStrategy", {}).get("type", "RollingUpdate"))])
