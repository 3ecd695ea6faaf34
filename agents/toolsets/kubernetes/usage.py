"""Resource usage from the metrics API (metrics-server), next to requests and limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from kubernetes.utils import parse_quantity
from pydantic import Field

from agents.safety.validation import Namespace, ObjectName, ToolParams
from agents.toolsets.base import ToolEnv, ToolOutput, ToolStatus
from agents.toolsets.kubernetes.reader import cluster_reader
from agents.toolsets.kubernetes.render import table
from agents.toolsets.kubernetes.toolset import KUBERNETES

Obj = dict[str, Any]


class GetResourceUsageParams(ToolParams):
    kind: Literal["pod", "node"] = Field("pod", description="Pods (per container) or nodes.")
    namespace: Namespace | None = Field(None, description="Namespace of the pods; omit for all.")
    name: ObjectName | None = Field(None, description="One pod or node; omit for all.")


def _fmt(value: Decimal, resource: str) -> str:
    if resource == "cpu":
        return f"{int(value * 1000)}m"
    return f"{int(value / (1024 * 1024))}Mi"


def _share(used: Decimal, limit: Any) -> str:
    if not limit:
        return "-"
    whole = parse_quantity(limit)
    return f"{int(used * 100 / whole)}%" if whole else "-"


def _pod_rows(reader: Any, p: GetResourceUsageParams) -> tuple[list[list[str]], list[Obj]]:
    metrics = reader.list("PodMetrics", p.namespace)
    if p.name:
        metrics = [m for m in metrics if m["metadata"]["name"] == p.name]
    rows, data = [], []
    for m in metrics:
        meta = m["metadata"]
        pod = reader.maybe_get("Pod", meta.get("namespace"), meta["name"]) or {}
        specs = {c["name"]: (c.get("resources") or {}) for c in pod.get("spec", {}).get("containers") or []}
        for c in m.get("containers") or []:
            res = specs.get(c["name"], {})
            cpu, mem = parse_quantity(c["usage"].get("cpu", "0")), parse_quantity(c["usage"].get("memory", "0"))
            limits, requests = res.get("limits") or {}, res.get("requests") or {}
            rows.append([f"{meta.get('namespace')}/{meta['name']}", c["name"], _fmt(cpu, "cpu"), requests.get("cpu", "-"),
                         limits.get("cpu", "-"), _fmt(mem, "memory"), requests.get("memory", "-"),
                         limits.get("memory", "-"), _share(mem, limits.get("memory"))])
            data.append({"namespace": meta.get("namespace"), "pod": meta["name"], "container": c["name"],
                         "usage": c["usage"], "requests": requests, "limits": limits})
    return rows, data


@KUBERNETES.tool(params=GetResourceUsageParams, output_cap=6000, transformers=("redact", "truncate_head"))
def get_resource_usage(env: ToolEnv, p: GetResourceUsageParams) -> ToolOutput:
    """Current CPU and memory usage from the metrics API, per container next to its requests and limits
    (memory as % of the limit), or per node next to allocatable. A crash-looping container may have none."""
    reader = cluster_reader(env)
    if p.kind == "pod":
        rows, data = _pod_rows(reader, p)
        headers = ["POD", "CONTAINER", "CPU", "CPU REQ", "CPU LIM", "MEMORY", "MEM REQ", "MEM LIM", "MEM/LIM"]
    else:
        nodes = {n["metadata"]["name"]: n for n in reader.list("Node")}
        metrics = [m for m in reader.list("NodeMetrics") if not p.name or m["metadata"]["name"] == p.name]
        rows, data = [], []
        for m in metrics:
            alloc = nodes.get(m["metadata"]["name"], {}).get("status", {}).get("allocatable", {})
            cpu, mem = parse_quantity(m["usage"].get("cpu", "0")), parse_quantity(m["usage"].get("memory", "0"))
            rows.append([m["metadata"]["name"], _fmt(cpu, "cpu"), _share(cpu, alloc.get("cpu")),
                         _fmt(mem, "memory"), _share(mem, alloc.get("memory"))])
            data.append({"node": m["metadata"]["name"], "usage": m["usage"], "allocatable": alloc})
        headers = ["NODE", "CPU", "CPU%", "MEMORY", "MEMORY%"]
    if not rows:
        what = f"{p.kind} '{p.name}'" if p.name else f"{p.kind}s" + (f" in namespace '{p.namespace}'" if p.namespace else "")
        return ToolOutput("", [], ToolStatus.NO_DATA, f"the metrics API has no usage for {what} (a container that "
                          "keeps crashing or has not started reports none)")
    return ToolOutput(table(headers, rows), data)
