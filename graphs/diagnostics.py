"""The diagnostics subgraph: rules first, then (with a model) a guarded ReAct investigation.

    check_rules ─┬─(no model / unreachable)────────────────────────────► finalize
                 ├─(rules confident)──────────────────────► conclude ──► verify ─► finalize
                 └─(otherwise)──► investigate ⇄ act ──(done/guard)──► conclude ─┘   │
                                                                       ▲ once ───────┘

Nodes call into `agents.investigation`; this module only wires them.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents.context import Context
from agents.diagnosis import Diagnosis, IncidentInput
from agents.knowledge.history import SeenBefore
from agents.knowledge.recall import weigh_history
from agents.investigation import (
    Toolbox,
    budget_trip,
    conclude_with_model,
    diagnose_with_rules,
    discount_unsupported,
    finalize,
    model_step,
    opening_messages,
    recall_history,
    rules_settle_it,
    run_tool_calls,
    skill_for,
    tokens_used,
    tools_offered,
    verify_evidence,
)
from agents.safety.guards import GuardTrip
from agents.timeline import Timeline
from agents.toolsets.base import ToolResult
from graphs.state import DiagnosticsOutput, DiagnosticsState


def _results(state: DiagnosticsState) -> list[ToolResult]:
    return [ToolResult.model_validate(item) for item in state.get("findings") or []]


def _rules(state: DiagnosticsState) -> Diagnosis | None:
    return Diagnosis.model_validate(state["rules"]) if state.get("rules") else None


def _history(state: DiagnosticsState) -> SeenBefore | None:
    return SeenBefore.model_validate(state["history"]) if state.get("history") else None


def _forced(state: DiagnosticsState) -> GuardTrip | None:
    forced = state.get("forced")
    return GuardTrip(forced["guard"], forced["reason"]) if forced else None


def build_diagnostics_graph(toolbox: Toolbox, timeline: Timeline) -> Any:
    async def check_rules(state: DiagnosticsState, runtime: Runtime[Context]) -> dict[str, Any]:
        incident = IncidentInput.model_validate(state["incident"])
        diagnosis, calls, unreachable = await diagnose_with_rules(toolbox, runtime.context, incident)
        history = await recall_history(toolbox, runtime.context, incident, skill_for(toolbox, diagnosis))
        await timeline.add(runtime.context.incident_id, "rules", f"rules: {diagnosis.category} "
                           f"({diagnosis.confidence:.2f}): {diagnosis.root_cause}",
                           {"calls": len(calls), "skill": diagnosis.skill})
        budget = dict(state.get("budget") or {})
        budget["tool_calls"] = budget.get("tool_calls", 0) + len(calls)
        return {"rules": diagnosis.model_dump(mode="json"), "findings": [c.model_dump(mode="json") for c in calls],
                "started_at": state.get("started_at") or time.time(), "budget": budget,
                "unreachable": diagnosis.failure_reason if unreachable else None,
                "history": history.model_dump(mode="json") if history else None}

    async def investigate(state: DiagnosticsState, runtime: Runtime[Context]) -> dict[str, Any]:
        assert toolbox.model is not None
        skill = skill_for(toolbox, _rules(state))
        opening = [] if state.get("messages") else [*opening_messages(
            skill, IncidentInput.model_validate(state["incident"]), _rules(state), _results(state), _history(state)),
            *(HumanMessage(hint) for hint in state.get("hints") or [])]  # a person's hints (human_help)
        budget = dict(state.get("budget") or {})
        tools = tools_offered(toolbox, runtime.context, skill, budget.get("steps", 0))
        reply = await model_step(toolbox.model, [*(state.get("messages") or []), *opening], tools)
        budget["steps"] = budget.get("steps", 0) + 1
        budget["tokens"] = budget.get("tokens", 0) + tokens_used(reply)
        return {"messages": [*opening, reply], "budget": budget}

    async def act(state: DiagnosticsState, runtime: Runtime[Context]) -> dict[str, Any]:
        skill = skill_for(toolbox, _rules(state))
        message = state["messages"][-1]
        assert isinstance(message, AIMessage)
        replies, calls, trip = await run_tool_calls(toolbox, runtime.context, skill, message, _results(state))
        budget = dict(state.get("budget") or {})
        budget["tool_calls"] = budget.get("tool_calls", 0) + len(calls)
        trip = trip or budget_trip(runtime.context, budget.get("steps", 0), budget.get("tokens", 0),
                                   state.get("started_at") or time.time())
        for call in calls:
            await timeline.add(runtime.context.incident_id, "tool_call", f"{call.tool}: {call.status.value}",
                               {"call_id": call.call_id, "args": call.args})
        update: dict[str, Any] = {"messages": replies, "findings": [c.model_dump(mode="json") for c in calls],
                                  "budget": budget}
        if trip is not None:
            update["forced"] = {"guard": trip.guard, "reason": trip.reason}
        return update

    async def conclude(state: DiagnosticsState, runtime: Runtime[Context]) -> dict[str, Any]:
        assert toolbox.model is not None
        messages = list(state.get("messages") or [])
        if not messages:  # the rules were confident: the model only explains and extends them
            messages = opening_messages(skill_for(toolbox, _rules(state)),
                                        IncidentInput.model_validate(state["incident"]), _rules(state),
                                        _results(state), _history(state))
        diagnosis = await conclude_with_model(toolbox.model, messages, _rules(state), _forced(state),
                                              state.get("problems") or [])
        return {"diagnosis": diagnosis.model_dump(mode="json"), "problems": []}

    async def verify(state: DiagnosticsState) -> dict[str, Any]:
        diagnosis = Diagnosis.model_validate(state["diagnosis"])
        problems = verify_evidence(diagnosis, _results(state))
        if not problems:
            return {}
        if state.get("evidence_retries", 0) == 0:
            return {"problems": problems, "evidence_retries": 1}
        return {"diagnosis": discount_unsupported(diagnosis, problems).model_dump(mode="json"), "problems": []}

    async def conclude_run(state: DiagnosticsState, runtime: Runtime[Context]) -> dict[str, Any]:
        chosen = state.get("diagnosis") or state.get("rules")
        assert chosen is not None
        diagnosis = weigh_history(finalize(Diagnosis.model_validate(chosen), unreachable=state.get("unreachable"),
                                           alert_firing=IncidentInput.model_validate(state["incident"]).firing()),
                                  _history(state))
        seen = f" ({diagnosis.history.line()})" if diagnosis.history else ""
        await timeline.add(runtime.context.incident_id, "diagnosis",
                           f"{diagnosis.category} ({diagnosis.confidence:.2f}, {diagnosis.source}): "
                           f"{diagnosis.root_cause}{seen}", {"needs_human": diagnosis.needs_human,
                                                       "status": diagnosis.status, "budget": state.get("budget")})
        escalation = ({"reason": diagnosis.reason_for_human, "from": "diagnostics"}
                      if diagnosis.needs_human else None)
        return {"diagnosis": diagnosis.model_dump(mode="json"), "escalation": escalation}

    def route_after_rules(state: DiagnosticsState) -> Literal["investigate", "conclude", "finalize"]:
        rules = _rules(state)
        if toolbox.model is None or state.get("unreachable"):
            return "finalize"
        if rules is not None and not state.get("hints") \
                and rules_settle_it(rules, IncidentInput.model_validate(state["incident"])):
            return "conclude"
        return "investigate"

    def route_after_investigate(state: DiagnosticsState) -> Literal["act", "conclude"]:
        last = state["messages"][-1]
        return "act" if isinstance(last, AIMessage) and last.tool_calls else "conclude"

    def route_after_act(state: DiagnosticsState) -> Literal["investigate", "conclude"]:
        return "conclude" if state.get("forced") else "investigate"

    def route_after_verify(state: DiagnosticsState) -> Literal["conclude", "finalize"]:
        return "conclude" if state.get("problems") else "finalize"

    builder = StateGraph(DiagnosticsState, context_schema=Context, output_schema=DiagnosticsOutput)
    builder.add_node("check_rules", check_rules)
    builder.add_node("investigate", investigate)
    builder.add_node("act", act)
    builder.add_node("conclude", conclude)
    builder.add_node("verify", verify)
    builder.add_node("finalize", conclude_run)
    builder.add_edge(START, "check_rules")
    builder.add_conditional_edges("check_rules", route_after_rules)
    builder.add_conditional_edges("investigate", route_after_investigate)
    builder.add_conditional_edges("act", route_after_act)
    builder.add_edge("conclude", "verify")
    builder.add_conditional_edges("verify", route_after_verify)
    builder.add_edge("finalize", END)
    return builder.compile()
