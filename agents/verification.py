"""Is a workload healthy after its fix was merged? One look, through the read-only toolset.

A workload is healthy when every desired replica is ready and updated and no Warning event about it,
its ReplicaSets or its pods was seen after the merge. The look goes through the `ToolExecutor` like
every other agent's (policy, timeout, redaction, audit); `app/verification.py` repeats it over the
verification window and decides what the incident becomes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from agents.audit import AuditSink
from agents.context import Context
from agents.toolsets.base import ToolResult, ToolStatus
from agents.toolsets.executor import ToolExecutor
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.kubernetes import DESCRIBE_TOOLS
from agents.toolsets.registry import ToolRegistry

AGENT = "verification"
# Workloads that keep pods running, and the status fields counting their ready and updated pods.
POD_COUNTS = {
    "Deployment": ("readyReplicas", "updatedReplicas"),
    "StatefulSet": ("readyReplicas", "updatedReplicas"),
    "DaemonSet": ("numberReady", "updatedNumberScheduled"),
}
TOOLS = frozenset({*(DESCRIBE_TOOLS[kind] for kind in POD_COUNTS), "list_pods", "get_events"})
EVENT_LIMIT = 500

Verdict = Literal["healthy", "failing", "unknown"]


@dataclass(frozen=True)
class WorkloadRef:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class HealthReport:
    """One look at the workload. `unknown`: the look itself failed (cluster unreachable, workload gone)."""

    verdict: Verdict
    summary: str  # one line, e.g. "1/1 ready, 1/1 updated, no new Warning events since the merge"
    desired: int = 0
    ready: int = 0
    updated: int = 0
    pod_problems: tuple[str, ...] = ()
    new_warnings: tuple[dict[str, Any], ...] = ()
    call_ids: tuple[str, ...] = field(default=())

    def evidence(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "summary": self.summary, "desired": self.desired, "ready": self.ready,
                "updated": self.updated, "pod_problems": list(self.pod_problems),
                "new_warnings": list(self.new_warnings), "tool_calls": list(self.call_ids)}


def verifier(registry: ToolRegistry, context: Context, *, audit: AuditSink | None = None,
             clients: ClusterClients | None = None) -> ToolExecutor:
    """The executor a verification looks through: read-only tools only, audited like every agent's."""
    return ToolExecutor(registry, context, agent=AGENT, allowed=TOOLS, audit=audit, clients=clients)


async def check_workload(executor: ToolExecutor, workload: WorkloadRef, since: datetime) -> HealthReport:
    """Look at the workload once: replicas from describe, pods from list_pods, Warning events after `since`."""
    if workload.kind not in POD_COUNTS:
        return HealthReport("unknown", f"opsgraph cannot verify a {workload.kind} yet; a person must check "
                                       f"{workload}")
    described = await executor.call(DESCRIBE_TOOLS[workload.kind], {"namespace": workload.namespace,
                                                                    "name": workload.name})
    if not described.ok or not isinstance(described.data, dict):
        return _unknown(f"could not read {workload}", described)
    data = described.data
    desired, ready, updated = _replicas(workload.kind, data)
    if workload.kind == "DaemonSet" and desired == 0:
        # Nothing to be healthy: a node selector or taint that matches no node is a failure to schedule,
        # not a success (and a status not yet written says nothing either).
        return HealthReport("unknown", f"{workload} wants a pod on no node (0 desired); a person must check "
                                       "its node selector, affinity and the nodes' taints",
                            call_ids=_ids(described))
    owners = ({f"ReplicaSet/{rs}" for rs in data.get("replicaSets") or []} if workload.kind == "Deployment"
              else {f"{workload.kind}/{workload.name}"})
    pods = await executor.call("list_pods", _pod_query(workload.namespace, data.get("selector")))
    if pods.status not in (ToolStatus.OK, ToolStatus.NO_DATA):
        return _unknown(f"could not list the pods of {workload}", pods, described)
    own_pods = [p for p in pods.data or [] if p.get("owner") in owners]
    events = await executor.call("get_events", {"namespace": workload.namespace, "type": "Warning",
                                                "limit": EVENT_LIMIT})
    if events.status not in (ToolStatus.OK, ToolStatus.NO_DATA):
        return _unknown(f"could not read the events of {workload}", events, described, pods)
    names = {workload.name, *(data.get("replicaSets") or []), *(p["name"] for p in own_pods)}
    new = tuple(e for e in events.data or [] if (e.get("object") or {}).get("name") in names
                and _after(e.get("lastTimestamp"), since))
    problems = tuple(f"{p['name']} {p['ready']} {p['status']} ({p['restarts']} restarts)" for p in own_pods
                     if p["status"] not in ("Running", "Completed", "Succeeded") or not _all_ready(p["ready"]))
    # A status the controller wrote before it saw the latest spec is no evidence about the change.
    generation, observed = data.get("generation"), (data.get("status") or {}).get("observedGeneration")
    stale = generation is not None and observed is not None and int(observed) < int(generation)
    # OnDelete: pods take a new template only when someone deletes them, so "updated" cannot be required.
    on_delete = data.get("updateStrategy") == "OnDelete"
    healthy = ready >= desired and (on_delete or updated >= desired) and not new and not stale
    summary = (f"{ready}/{desired} ready, {updated}/{desired} updated, "
               + (f"{len(new)} new Warning event(s) since the merge: {_reasons(new)}" if new
                  else "no new Warning events since the merge")
               + ("; the controller has not observed the latest change yet" if stale else "")
               + ("; updateStrategy OnDelete: pods take the change only when they are deleted" if on_delete
                  else ""))
    return HealthReport("healthy" if healthy else "failing", summary, desired, ready, updated, problems, new,
                        _ids(described, pods, events))


def _replicas(kind: str, described: dict[str, Any]) -> tuple[int, int, int]:
    """Desired, ready and updated pods. A DaemonSet wants one per eligible node, which only its status
    knows; a Deployment or StatefulSet without `replicas` wants 1."""
    status = described.get("status") or {}
    if kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled") or 0)
    else:
        desired = int(described["replicas"] if described.get("replicas") is not None else 1)
    ready_field, updated_field = POD_COUNTS[kind]
    return desired, int(status.get(ready_field) or 0), int(status.get(updated_field) or 0)


def _pod_query(namespace: str, selector: Any) -> dict[str, Any]:
    labels = (selector or {}).get("matchLabels") if isinstance(selector, dict) else None
    query: dict[str, Any] = {"namespace": namespace}
    if labels:
        query["label_selector"] = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return query


def _after(timestamp: Any, since: datetime) -> bool:
    if not isinstance(timestamp, str) or not timestamp:
        return False
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")) > since
    except ValueError:
        return False


def _all_ready(ready: str) -> bool:
    have, _, want = str(ready).partition("/")
    return have == want


def _reasons(events: Iterable[dict[str, Any]]) -> str:
    return ", ".join(sorted({f"{e.get('reason')} on {(e.get('object') or {}).get('name')}" for e in events}))


def _ids(*results: ToolResult) -> tuple[str, ...]:
    return tuple(r.call_id for r in results)


def _unknown(what: str, failed: ToolResult, *earlier: ToolResult) -> HealthReport:
    reason = failed.message or failed.status.value
    return HealthReport("unknown", f"{what}: {reason}", call_ids=_ids(*earlier, failed))
