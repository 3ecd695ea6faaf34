"""The remediation subgraph: plan a GitOps change, wait for a person, deliver a pull request.

    (START: a person asked to undo a merged fix ──► plan_revert ──► approval_gate, as below)
    plan_fix ─┬─(nothing to propose)──────────────────────────────────────────────► END (escalation)
      ▲       ├─(fails its checks, a model may correct it)──► replan ─┐
      └───────┼───────────────────────────────────────────────────────┘
              └─► approval_gate ─┬─ approve ────────────────► open_pull_request ──► END
                     ▲           ├─ approve, with actions ─► run_direct_actions ─┬─► open_pull_request
                     │           │                                              └─(actions only / failed)─► END
                     ▲           ├─ edit ──► apply_edits ─┬─► open_pull_request
                     │           │                        ├─(an edited direct action)──► approval_gate
                     │           │                        └─(invalid)──► END (escalation)
                     └─ stale ───┴─ reject ──────────────────────────────────────► END

`approval_gate` does nothing but ask: LangGraph re-runs an interrupted node from its first line on
resume, so every side effect (commit, push, PR, direct action) lives in later nodes and is idempotent.
Direct actions (restart, scale) exist only where the Context enables them (agents/direct_actions.py).
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agents.context import Context
from agents.diagnosis import Diagnosis
from agents.direct_actions import ActionStep, apply_approved, approval_fields
from agents.investigation import Toolbox
from agents.remediation import (
    ApprovalDecision,
    RemediationSetup,
    approval_request,
    decision_problem,
    deliver,
    plan_remediation,
    plan_revert,
)
from agents.proposal import propose, propose_edited
from agents.replanning import dry_run_plan, replan_problems, replan_with_model
from agents.timeline import Timeline
from agents.toolsets.gitops.plan import Plan
from graphs.state import RemediationOutput, RemediationState


def _diagnosis(state: RemediationState) -> Diagnosis:
    return Diagnosis.model_validate(state["diagnosis"])


def _plan(state: RemediationState) -> Plan:
    return Plan.model_validate(state["plan"])


def _escalation(reason: str) -> dict[str, Any]:
    return {"reason": reason, "from": "remediation"}


def _actions(state: RemediationState) -> list[ActionStep]:
    return [ActionStep.model_validate(a) for a in state.get("actions") or []]


def build_remediation_graph(setup: RemediationSetup, timeline: Timeline, toolbox: Toolbox | None = None) -> Any:
    async def plan_fix(state: RemediationState, runtime: Runtime[Context]) -> dict[str, Any]:
        proposal = await propose(setup, runtime.context, _diagnosis(state), replans=state.get("replans", 0),
                                 problems_seen=state.get("replan_problems", []))
        await timeline.add(runtime.context.incident_id, "plan", proposal.message, {"diff_hash": proposal.plan.diff_hash})
        return proposal.update()

    async def plan_revert_change(state: RemediationState, runtime: Runtime[Context]) -> dict[str, Any]:
        commit = str(state.get("revert_of"))
        plan = await plan_revert(setup, runtime.context.incident_id, _diagnosis(state), commit)
        message = (f"revert of {commit[:12]}: {len(plan.steps)} file(s)" if plan.ready
                   else f"revert of {commit[:12]} refused: {plan.escalate_reason or plan.errors}")
        await timeline.add(runtime.context.incident_id, "plan", message, {"diff_hash": plan.diff_hash})
        update: dict[str, Any] = {"plan": plan.model_dump(mode="json"), "actions": []}
        if not plan.ready:
            update["escalation"] = _escalation(plan.escalate_reason or "the revert does not validate: "
                                               + "; ".join(map(str, plan.errors)))
        return update

    async def replan(state: RemediationState, runtime: Runtime[Context]) -> dict[str, Any]:
        assert setup.model is not None  # route_after_plan only comes here with a model
        plan = _plan(state)
        diagnosis, unusable = await replan_with_model(setup.model, _diagnosis(state), plan, replan_problems(plan))
        if unusable:
            await timeline.add(runtime.context.incident_id, "plan", unusable)
        return {"diagnosis": diagnosis.model_dump(mode="json"), "replans": state.get("replans", 0) + 1,
                "replan_problems": [*state.get("replan_problems", []), *([unusable] if unusable else [])]}

    async def approval_gate(state: RemediationState, runtime: Runtime[Context]) -> dict[str, Any]:
        request = approval_request(runtime.context.incident_id, _diagnosis(state), _plan(state),
                                   setup.approval_ttl_seconds)
        if state.get("actions"):
            request.update(approval_fields(_actions(state)))
        answer = interrupt(request)
        return {"approval": ApprovalDecision.model_validate(answer).model_dump(mode="json")}

    async def apply_edits(state: RemediationState, runtime: Runtime[Context]) -> dict[str, Any]:
        decision = ApprovalDecision.model_validate(state["approval"])
        if state.get("actions"):
            return await edit_actions(state, runtime, decision)
        plan = await plan_remediation(setup, runtime.context.incident_id, _diagnosis(state), decision.edits)
        plan = await dry_run_plan(setup, runtime.context, plan)
        if plan.ready:
            await timeline.add(runtime.context.incident_id, "plan", f"edited by {decision.approver}: "
                               f"{len(plan.steps)} change(s), re-validated", {"diff_hash": plan.diff_hash})
            return {"plan": plan.model_dump(mode="json")}
        reason = plan.escalate_reason or "the edited change does not validate: " + "; ".join(map(str, plan.errors))
        await timeline.add(runtime.context.incident_id, "plan", f"edit by {decision.approver} refused: {reason}")
        return {"plan": plan.model_dump(mode="json"), "escalation": _escalation(reason)}

    async def edit_actions(state: RemediationState, runtime: Runtime[Context],
                           decision: ApprovalDecision) -> dict[str, Any]:
        edited, proposal = await propose_edited(setup, runtime.context, _diagnosis(state), decision.edits)
        if proposal.escalation:
            reason = f"edit by {decision.approver} refused: {proposal.escalation}"
            await timeline.add(runtime.context.incident_id, "plan", reason)
            return {"plan": proposal.plan.model_dump(mode="json"), "escalation": _escalation(reason)}
        message = (f"{proposal.message} again (an edited action is approved as it will run)" if proposal.actions
                   else f"{len(proposal.plan.steps)} change(s), re-validated")
        await timeline.add(runtime.context.incident_id, "plan", f"edited by {decision.approver}: {message}",
                           {"diff_hash": proposal.plan.diff_hash})
        return {**proposal.update(), "diagnosis": edited.model_dump(mode="json"),
                "actions": [a.model_dump(mode="json") for a in proposal.actions]}

    async def open_pull_request(state: RemediationState, runtime: Runtime[Context]) -> dict[str, Any]:
        record = await deliver(setup, runtime.context.incident_id, _diagnosis(state), _plan(state),
                               branch_suffix="-revert" if state.get("revert_of") else "")
        await timeline.add(runtime.context.incident_id, "pull_request", f"{record.url} ({record.branch}"
                           f"{', ' + record.note if record.note else ''})", record.model_dump(mode="json"))
        return {"pr": record.model_dump(mode="json")}

    async def run_direct_actions(state: RemediationState, runtime: Runtime[Context]) -> dict[str, Any]:
        decision = ApprovalDecision.model_validate(state["approval"])
        if toolbox is None:
            return {"escalation": _escalation("direct actions were approved but this process has no cluster tools")}
        outcome = await apply_approved(toolbox.registry, runtime.context, _actions(state), approval=decision.diff_hash,
                                       approver=decision.approver, approved_at=decision.at,
                                       done=list(state.get("actions_done") or []), audit=toolbox.audit,
                                       clients=toolbox.clients)
        for message, data in outcome.lines:
            await timeline.add(runtime.context.incident_id, "action", message, data)
        update: dict[str, Any] = {"actions_done": outcome.done}
        if outcome.failure:
            update["escalation"] = _escalation(outcome.failure)
        return update

    async def record_rejection(state: RemediationState, runtime: Runtime[Context]) -> dict[str, Any]:
        decision = ApprovalDecision.model_validate(state["approval"])
        why = f"rejected by {decision.approver}" + (f": {decision.reason}" if decision.reason else "")
        await timeline.add(runtime.context.incident_id, "approval", why)
        return {"escalation": _escalation(why)}

    def route_start(state: RemediationState) -> Literal["plan_revert", "plan_fix"]:
        return "plan_revert" if state.get("revert_of") else "plan_fix"

    def route_after_plan(state: RemediationState) -> Literal["approval_gate", "replan", "__end__"]:
        if state.get("escalation"):
            return END
        return "replan" if state.get("replan_problems") and not _plan(state).ready and not state.get("actions") \
            else "approval_gate"

    def route_after_approval(state: RemediationState) -> Literal[
            "open_pull_request", "apply_edits", "record_rejection", "approval_gate", "run_direct_actions"]:
        decision = ApprovalDecision.model_validate(state["approval"])
        if decision_problem(decision, _plan(state)) is not None:
            return "approval_gate"  # a stale decision answers nothing; ask again for the current change
        if decision.decision == "approve" and state.get("actions"):
            return "run_direct_actions"
        return {"approve": "open_pull_request", "edit": "apply_edits", "reject": "record_rejection"}[decision.decision]  # type: ignore[return-value]

    def route_after_edits(state: RemediationState) -> Literal["open_pull_request", "approval_gate", "__end__"]:
        if state.get("escalation"):
            return END
        return "approval_gate" if state.get("actions") else "open_pull_request"

    def route_after_actions(state: RemediationState) -> Literal["open_pull_request", "__end__"]:
        return END if state.get("escalation") or not _plan(state).steps else "open_pull_request"

    builder = StateGraph(RemediationState, context_schema=Context, output_schema=RemediationOutput)
    builder.add_node("plan_fix", plan_fix)
    builder.add_node("plan_revert", plan_revert_change)
    builder.add_node("replan", replan)
    builder.add_node("approval_gate", approval_gate)
    builder.add_node("apply_edits", apply_edits)
    builder.add_node("open_pull_request", open_pull_request)
    builder.add_node("record_rejection", record_rejection)
    builder.add_node("run_direct_actions", run_direct_actions)
    builder.add_conditional_edges(START, route_start)
    builder.add_conditional_edges("plan_fix", route_after_plan)
    builder.add_conditional_edges("plan_revert", route_after_plan)
    builder.add_edge("replan", "plan_fix")
    builder.add_conditional_edges("approval_gate", route_after_approval)
    builder.add_conditional_edges("apply_edits", route_after_edits)
    builder.add_conditional_edges("run_direct_actions", route_after_actions)
    builder.add_edge("open_pull_request", END)
    builder.add_edge("record_rejection", END)
    return builder.compile()
