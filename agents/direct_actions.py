"""Direct actions in a remediation plan: a restart or a scale instead of (or besides) a pull request.

Off unless `Context.direct_actions` covers the incident's namespace. Only two fixes qualify: a
`SuggestedFix` on `spec.replicas` of a Deployment/StatefulSet becomes `scale`, and one on the pod
template's restartedAt annotation becomes `rollout_restart` - never for a category whose cause a
restart would only hide (an OOM kill, a crash loop, a bad probe...). Everything else stays a GitOps
change. The approval binds the actions too: the plan's hash covers the diff and the actions' JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from agents.context import Context
from agents.diagnosis import Diagnosis, SuggestedFix
from agents.toolsets.base import ToolResult
from agents.toolsets.executor import ToolExecutor
from agents.toolsets.gitops.plan import Plan
from agents.toolsets.registry import ToolRegistry

AGENT = "remediation"
TOOLS = ("rollout_restart", "scale")
SCALABLE = frozenset({"Deployment", "StatefulSet"})
RESTARTABLE = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
RESTART_PATHS = frozenset({'spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]',
                           "spec.template.metadata.annotations.kubectl.kubernetes.io/restartedAt"})
# Categories where a restart silences the symptom and leaves the cause: the pods come back and fail again.
RESTART_HIDES = frozenset({
    "oom_killed", "crash_loop_app_error", "bad_command", "missing_config", "invalid_config", "image_pull",
    "unschedulable", "probe_failure", "storage", "node_failure", "security_context", "quota", "admission",
    "rbac", "certificate", "job_failed", "autoscaling", "service_unreachable",
})


class ActionStep(BaseModel):
    """One direct action exactly as approved and run: the tool, its arguments, why."""

    tool: Literal["rollout_restart", "scale"]
    args: dict[str, Any]
    rationale: str


def _action_for(fix: SuggestedFix, category: str) -> ActionStep | None:
    ref = fix.resource
    if fix.field_path == "spec.replicas" and ref.kind in SCALABLE and isinstance(fix.new_value, int) \
            and not isinstance(fix.new_value, bool) and 0 <= fix.new_value <= 50:
        return ActionStep(tool="scale", rationale=fix.rationale, args={
            "kind": ref.kind, "namespace": ref.namespace, "name": ref.name, "replicas": fix.new_value})
    if fix.field_path in RESTART_PATHS and ref.kind in RESTARTABLE and category not in RESTART_HIDES:
        return ActionStep(tool="rollout_restart", rationale=fix.rationale,
                          args={"kind": ref.kind, "namespace": ref.namespace, "name": ref.name})
    return None


def split_actions(diagnosis: Diagnosis, context: Context) -> tuple[list[ActionStep], Diagnosis]:
    """The fixes to deliver as direct actions here, and the diagnosis left for the GitOps plan."""
    actions: list[ActionStep] = []
    rest: list[SuggestedFix] = []
    for fix in diagnosis.suggested_fixes:
        action = _action_for(fix, diagnosis.category) if context.allows_direct_action(fix.resource.namespace) else None
        if action is None:
            rest.append(fix)
        else:
            actions.append(action)
    return actions, diagnosis.model_copy(update={"suggested_fixes": rest})


def actions_hash(diff: str, actions: list[ActionStep]) -> str:
    """What an approval names: the diff and the canonical JSON of the actions, hashed together."""
    canonical = json.dumps([a.model_dump(mode="json") for a in actions], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{diff}\n--- actions ---\n{canonical}".encode()).hexdigest()


def bind_actions(plan: Plan, actions: list[ActionStep]) -> Plan:
    """The plan whose hash covers its actions; an actions-only plan needs no GitOps change to be ready."""
    if not actions:
        return plan
    return plan.model_copy(update={"diff_hash": actions_hash(plan.diff, actions)})


def described(actions: list[ActionStep]) -> str:
    return "; ".join(f"{a.tool} {a.args['kind']} {a.args['namespace']}/{a.args['name']}"
                     + (f" to {a.args['replicas']}" if a.tool == "scale" else "") for a in actions)


def approval_fields(actions: list[ActionStep]) -> dict[str, Any]:
    """What the approval request adds: the actions exactly, as they will run."""
    return {"actions": [a.model_dump(mode="json") for a in actions]}


def restart_stamp(approved_at: datetime) -> str:
    """The restartedAt a restart sets: the approval's time, so a re-run sets the same stamp (a no-op)."""
    return approved_at.replace(microsecond=0).isoformat().replace("+00:00", "Z")


async def run_actions(registry: ToolRegistry, context: Context, actions: list[ActionStep], *, approval: str,
                      approved_at: datetime, done: list[dict[str, Any]], audit: Any = None,
                      clients: Any = None) -> list[ToolResult]:
    """Run the actions not yet done (by index), through the executor for the remediation agent."""
    executor = ToolExecutor(registry, context, agent=AGENT, allowed=TOOLS, audit=audit, clients=clients,
                            approval=approval)
    finished = {item["index"] for item in done if item.get("status") == "ok"}
    results = []
    for index, action in enumerate(actions):
        if index in finished:
            continue
        args = dict(action.args)
        if action.tool == "rollout_restart":
            args["restarted_at"] = restart_stamp(approved_at)
        result = await executor.call(action.tool, args, call_id=f"action_{approval[:12]}_{index}")
        results.append(result)
        if not result.ok:
            break  # later actions may depend on this one; a person takes it from here
    return results


@dataclass(frozen=True)
class ActionOutcome:
    done: list[dict[str, Any]]  # one record per action that ran (index, tool, args, status, message, data)
    lines: list[tuple[str, dict[str, Any]]]  # timeline entries: (message, data)
    failure: str | None  # why a person must take over, or None


async def apply_approved(registry: ToolRegistry, context: Context, actions: list[ActionStep], *, approval: str,
                         approver: str, approved_at: datetime, done: list[dict[str, Any]], audit: Any = None,
                         clients: Any = None) -> ActionOutcome:
    """Run the approved actions not yet done and say what happened; a failed one hands over to a person."""
    results = await run_actions(registry, context, actions, approval=approval, approved_at=approved_at, done=done,
                                audit=audit, clients=clients)
    ran = {r.call_id: r for r in results}
    records, lines = list(done), []
    for index, action in enumerate(actions):
        result = ran.get(f"action_{approval[:12]}_{index}")
        if result is None:
            continue
        records = [d for d in records if d["index"] != index] + [{
            "index": index, "tool": action.tool, "args": result.args, "status": result.status.value,
            "message": result.message or result.text, "data": result.data}]
        lines.append((f"{action.tool} ({approver} approved): {result.text or result.message}",
                      {"status": result.status.value, "args": result.args}))
    failed = [d for d in records if d["status"] != "ok"]
    failure = f"direct action {failed[0]['tool']} did not run: {failed[0]['message']}" if failed else None
    return ActionOutcome(records, lines, failure)
