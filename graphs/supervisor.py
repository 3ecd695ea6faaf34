"""The supervisor: triage an incident, diagnose it, then hand it to remediation or a person.

    triage ──► diagnostics ──► route_after_diagnosis ──► remediation ──► report ──► END
                                                     └──────────────────────► report ──► END

A chat turn (a run whose input is messages) enters at `route_turn` instead (graphs/chat.py): QA, YAML,
or a diagnosis of the named workload that joins the path above at remediation/report, then replies.

Subgraphs are compiled graphs added as nodes. The supervisor is compiled in the app's lifespan with
the Postgres checkpointer (one thread per incident); tests compile it the same way.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agents.context import Budgets, Context
from agents.diagnosis import Diagnosis
from agents.investigation import Toolbox
from agents.routing import route_after_diagnosis, route_incident
from agents.timeline import Timeline
from agents.remediation import RemediationSetup
from graphs.diagnostics import build_diagnostics_graph
from graphs.remediation import build_remediation_graph
from graphs.state import InputState, State
from graphs.chat import add_chat_turns, route_after_report, route_entry
from agents.chat.turns import ChatSetup



def run_config(thread_id: str, budgets: Budgets) -> RunnableConfig:
    """Every run's config: its thread, and a recursion limit derived from the step budget (each
    investigation step is two super-steps, plus the fixed nodes around it)."""
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": 2 * budgets.max_steps + 20}


def build_supervisor_graph(toolbox: Toolbox, timeline: Timeline,
                           checkpointer: BaseCheckpointSaver[Any] | None = None,
                           remediation: RemediationSetup | None = None, chat: ChatSetup | None = None) -> Any:
    # Subgraphs this supervisor can route to; human help lands later, until then a run that needs a
    # person ends with its report and escalation.
    available = frozenset({"diagnostics"} | ({"remediation"} if remediation is not None else set()))

    async def triage(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        decision = route_incident(state["incident"])
        await timeline.add(runtime.context.incident_id, "triage", decision.reason, {"route": decision.route})
        return {"route": decision.route}

    async def report(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        diagnosis = state.get("diagnosis")
        summary = "no diagnosis" if diagnosis is None else f"{diagnosis['category']}: {diagnosis['root_cause']}"
        await timeline.add(runtime.context.incident_id, "report", summary,
                           {"escalation": state.get("escalation"), "budget": state.get("budget")})
        return {}

    def route_after_triage(state: State) -> Literal["diagnostics", "report"]:
        return "diagnostics" if state.get("route") == "diagnostics" else "report"

    def route_after_diagnostics(state: State) -> Literal["remediation", "report"]:
        diagnosis = Diagnosis.model_validate(state["diagnosis"])
        decision = route_after_diagnosis(diagnosis, available)
        return "remediation" if decision.route == "remediation" else "report"

    builder = StateGraph(State, context_schema=Context, input_schema=InputState)
    builder.add_node("triage", triage)
    builder.add_node("diagnostics", build_diagnostics_graph(toolbox, timeline))
    if remediation is not None:
        builder.add_node("remediation", build_remediation_graph(remediation, timeline, toolbox))
        builder.add_edge("remediation", "report")
    builder.add_node("report", report)
    builder.add_conditional_edges("triage", route_after_triage)
    after_diagnosis = sorted({"report"} | (available - {"diagnostics"}))
    builder.add_conditional_edges("diagnostics", route_after_diagnostics, after_diagnosis)
    # Chat turns (issue 12): a run with messages and no incident starts at route_turn instead of triage.
    add_chat_turns(builder, toolbox, timeline, chat or ChatSetup(), route_after_diagnostics, after_diagnosis)
    builder.add_conditional_edges(START, route_entry, ["triage", "route_turn"])
    builder.add_conditional_edges("report", route_after_report, ["reply", END])
    return builder.compile(checkpointer=checkpointer)
