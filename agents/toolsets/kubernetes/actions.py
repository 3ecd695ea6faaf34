"""Direct actions: the two low-risk cluster writes opsgraph can make, off unless enabled per namespace.

`rollout_restart` and `scale` are LOW_RISK: the policy refuses them for every agent but `remediation`,
for that one only where `Context.direct_actions` covers the namespace, and only with an approved plan
(`ToolExecutor(approval=...)`). The graph calls them after the approval gate; the model is never
offered them. Both are idempotent: scaling to N twice is one change, and a restart carries the
`restartedAt` stamp it sets, so a re-run with the same stamp changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from kubernetes.client.exceptions import ApiException
from pydantic import Field

from agents.safety.levels import SafetyLevel
from agents.safety.validation import Namespace, ObjectName, ToolParams
from agents.toolsets.base import ToolEnv, ToolOutput
from agents.toolsets.kubernetes.clients import CONNECT_TIMEOUT_SECONDS
from agents.toolsets.kubernetes.failures import check_refs, explain
from agents.toolsets.kubernetes.reader import cluster_reader
from agents.toolsets.kubernetes.kinds import resolve_kind
from agents.toolsets.registry import Toolset

Obj = dict[str, Any]
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
MAX_REPLICAS = 50

KUBERNETES_ACTIONS = Toolset(
    name="kubernetes_actions",
    description="Direct low-risk writes to the incident's cluster (rollout restart, scale), run only after "
                "approval and only where OPSGRAPH_DIRECT_ACTIONS enables them.",
    prerequisites=lambda context: None if context.direct_actions else "direct actions are off (OPSGRAPH_DIRECT_ACTIONS)",
    explain=explain,
    check_refs=check_refs,
)  # no skill lists these tools, so no model is offered them: the remediation graph calls them after the gate


class RolloutRestartParams(ToolParams):
    kind: Literal["Deployment", "StatefulSet", "DaemonSet"] = "Deployment"
    namespace: Namespace
    name: ObjectName
    restarted_at: str | None = Field(None, max_length=40, description="The restartedAt stamp to set (RFC 3339); "
                                     "the same stamp again changes nothing. Default: now.")


class ScaleParams(ToolParams):
    kind: Literal["Deployment", "StatefulSet"] = "Deployment"
    namespace: Namespace
    name: ObjectName
    replicas: int = Field(ge=0, le=MAX_REPLICAS, description=f"Desired replicas, 0..{MAX_REPLICAS}.")


def _write(env: ToolEnv, method: str, path: str, body: Obj, content_type: str) -> Obj:
    api = env.clients.for_cluster(env.context.cluster)
    timeout = (min(CONNECT_TIMEOUT_SECONDS, env.timeout_seconds), env.timeout_seconds)
    args = api.param_serialize(method=method, resource_path=path, body=body,
                               header_params={"Accept": "application/json", "Content-Type": content_type},
                               auth_settings=["BearerToken"])
    response = api.call_api(*args, _request_timeout=timeout)
    data = response.read()
    if not 200 <= response.status <= 299:
        raise ApiException(http_resp=response)
    return dict(json.loads(data.decode("utf-8", errors="replace")))


@KUBERNETES_ACTIONS.tool(params=RolloutRestartParams, safety=SafetyLevel.LOW_RISK, timeout=20, output_cap=1000)
def rollout_restart(env: ToolEnv, p: RolloutRestartParams) -> ToolOutput:
    """Restart a workload's pods in a rolling update (kubectl rollout restart): sets the pod template's
    restartedAt annotation. Only after approval, and only where direct actions are enabled."""
    path = resolve_kind(p.kind).path(p.namespace, p.name)
    stamp = p.restarted_at or datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    current = cluster_reader(env).get(p.kind, p.namespace, p.name)
    annotations = (current.get("spec", {}).get("template", {}).get("metadata") or {}).get("annotations") or {}
    if annotations.get(RESTARTED_AT) == stamp:
        return ToolOutput(f"{p.kind} {p.namespace}/{p.name} was already restarted at {stamp}; nothing changed.",
                          {"restartedAt": stamp, "changed": False})
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    _write(env, "PATCH", path, patch, "application/merge-patch+json")
    return ToolOutput(f"{p.kind} {p.namespace}/{p.name} restarted: {RESTARTED_AT}={stamp}.",
                      {"restartedAt": stamp, "changed": True})


@KUBERNETES_ACTIONS.tool(params=ScaleParams, safety=SafetyLevel.LOW_RISK, timeout=20, output_cap=1000)
def scale(env: ToolEnv, p: ScaleParams) -> ToolOutput:
    """Set a Deployment's or StatefulSet's replicas through its scale subresource (kubectl scale). Only
    after approval, and only where direct actions are enabled."""
    path = resolve_kind(p.kind).path(p.namespace, p.name) + "/scale"
    # The workload's own spec.replicas is what its scale subresource reports.
    before = int((cluster_reader(env).get(p.kind, p.namespace, p.name).get("spec") or {}).get("replicas") or 0)
    if before == p.replicas:
        return ToolOutput(f"{p.kind} {p.namespace}/{p.name} already has {p.replicas} replicas; nothing changed.",
                          {"replicas": p.replicas, "previous": before, "changed": False})
    _write(env, "PATCH", path, {"spec": {"replicas": p.replicas}}, "application/merge-patch+json")
    return ToolOutput(f"{p.kind} {p.namespace}/{p.name} scaled from {before} to {p.replicas} replicas.",
                      {"replicas": p.replicas, "previous": before, "changed": True})
