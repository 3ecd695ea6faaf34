"""The supervisor: triage an incident, diagnose it, then hand it to remediation or a person.

    triage ──► diagnostics ──► route_after_diagnosis ──► remediation ──► report ──► END
                    ▲                                │   ▲       └─(escalation)─┐
                    │                                └───┼──────────────► human_help ──(resolved)──► report
                    └── fresh_investigation ◄──(diagnose again with a hint)──┤
                                                         └─────(plan again)──┘

A chat turn (a run whose input is messages) enters at `route_turn` instead (graphs/chat.py): QA, YAML,
or a diagnosis of the named workload that joins the path above at remediation/report, then replies.

Subgraphs are compiled graphs added as nodes. The supervisor is compiled in the app's lifespan with
the Postgres checkpointer (one thread per incident); tests compile it the same way.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import RemoveMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from langgraph.runtime import Runtime

from agents.context import Budgets, Context
from agents.diagnosis import Diagnosis
from agents.investigation import Toolbox
from agents.human_help import MAX_HELP_ROUNDS, HelpReply
from agents.routing import route_after_diagnosis, route_incident
from agents.timeline import Timeline
from agents.remediation import RemediationSetup
from graphs.diagnostics import build_diagnostics_graph
from graphs.human_help import build_human_help_graph
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
                           remediation: RemediationSetup | None = None, chat: ChatSetup | None = None,
                           human_help: bool = False) -> Any:
    # Subgraphs this supervisor can route to. Without human_help a run that needs a person ends with
    # its report and escalation; with it, the run waits for a person's reply (graphs/human_help.py).
    available = frozenset({"diagnostics"} | ({"remediation"} if remediation is not None else set())
                          | ({"human_help"} if human_help else set()))

    async def triage(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        decision = route_incident(state["incident"])
        await timeline.add(runtime.context.incident_id, "triage", decision.reason, {"route": decision.route})
        return {"route": decision.route}

    async def report(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        diagnosis = state.get("diagnosis")
        summary = "no diagnosis" if diagnosis is None else f"{diagnosis['category']}: {diagnosis['root_cause']}"
        resolution = state.get("resolution")
        if resolution:
            summary += f"; resolved by {resolution['by']}: {resolution['text']}"
        await timeline.add(runtime.context.incident_id, "report", summary,
                           {"escalation": state.get("escalation"), "budget": state.get("budget"),
                            "resolution": resolution, "hints": state.get("hints") or []})
        return {}

    def route_after_triage(state: State) -> Literal["diagnostics", "human_help", "report"]:
        if state.get("route") == "diagnostics":
            return "diagnostics"
        return "human_help" if state.get("route") == "human_help" and "human_help" in available else "report"

    def route_after_diagnostics(state: State) -> Literal["remediation", "human_help", "report"]:
        diagnosis = Diagnosis.model_validate(state["diagnosis"])
        decision = route_after_diagnosis(diagnosis, available)
        if decision.route == "human_help" and state.get("help_rounds", 0) >= MAX_HELP_ROUNDS:
            return "report"
        return decision.route if decision.route in ("remediation", "human_help") else "report"  # type: ignore[return-value]

    def route_after_remediation(state: State) -> Literal["human_help", "handoff", "report"]:
        escalation = state.get("escalation") or {}
        needs_person = escalation and (escalation.get("from") == "verification"  # the merged fix did not help
                                       or (not state.get("pr") and not state.get("actions_done")))
        if state.get("intent"):  # a chat turn asks its own person (graphs/chat.py), unless its user said no
            rejected = (state.get("approval") or {}).get("decision") == "reject"
            return "handoff" if needs_person and not rejected and "human_help" in available \
                and state.get("help_rounds", 0) < MAX_HELP_ROUNDS else "report"
        return "human_help" if needs_person and "human_help" in available \
            and state.get("help_rounds", 0) < MAX_HELP_ROUNDS else "report"

    async def fresh_investigation(state: State) -> dict[str, Any]:
        # A person's hint starts the investigation over: the old conversation goes, its findings stay.
        return {"messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES)]}

    def route_after_help(state: State) -> Literal["fresh_investigation", "remediation", "report"]:
        reply = HelpReply.model_validate(state["help_reply"])
        if reply.action in ("plan", "revert") and "remediation" in available:
            return "remediation"
        return "fresh_investigation" if reply.action == "diagnose" else "report"

    builder = StateGraph(State, context_schema=Context, input_schema=InputState)
    builder.add_node("triage", triage)
    builder.add_node("diagnostics", build_diagnostics_graph(toolbox, timeline))
    if remediation is not None:
        builder.add_node("remediation", build_remediation_graph(remediation, timeline, toolbox))
        builder.add_conditional_edges("remediation", route_after_remediation,
                                      sorted({"report", "handoff"} | (available & {"human_help"})))
    if human_help:
        builder.add_node("human_help", build_human_help_graph(timeline))
        builder.add_node("fresh_investigation", fresh_investigation)
        builder.add_edge("fresh_investigation", "diagnostics")
        builder.add_conditional_edges("human_help", route_after_help,
                                      sorted({"report", "fresh_investigation"} | (available & {"remediation"})))
    builder.add_node("report", report)
    builder.add_conditional_edges("triage", route_after_triage,
                                  sorted({"report", "diagnostics"} | (available & {"human_help"})))
    after_diagnosis = sorted({"report"} | (available - {"diagnostics"}))
    builder.add_conditional_edges("diagnostics", route_after_diagnostics, after_diagnosis)
    # Chat turns (issue 12): a run with messages and no incident starts at route_turn instead of triage.
    add_chat_turns(builder, toolbox, timeline, chat or ChatSetup(), route_after_diagnostics, after_diagnosis)
    builder.add_conditional_edges(START, route_entry, ["triage", "route_turn"])
    builder.add_conditional_edges("report", route_after_report, ["reply", END])
    return builder.compile(checkpointer=checkpointer)
