"""Chat turns under the supervisor: read the turn, route it, answer it.

    START ─(messages)─► route_turn ─┬─ qa ───────────────────────────────────────────────► END
                                    ├─ yaml ─────────────────────────────────────────────► END
                                    └─ diagnose_workload ─► (remediation ─►) report ─► reply ─► END

Diagnostics runs as its own invocation (the chat's messages are not its investigation), and a fix
goes through the same remediation subgraph and approval gate as an alert's. Nodes call into `agents/`.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.graph import StateGraph
from langgraph.runtime import Runtime

from agents.chat import qa as qa_agent
from agents.chat.intents import ChatIntent
from agents.chat.turns import ChatSetup, classify, diagnosis_reply, incident_for, last_turn
from agents.context import Context
from agents.investigation import Toolbox
from agents.manifests import agent as yaml_agent
from agents.timeline import Timeline
from graphs.diagnostics import build_diagnostics_graph
from graphs.state import State


def add_chat_turns(builder: StateGraph[Any, Any, Any, Any], toolbox: Toolbox, timeline: Timeline,
                   setup: ChatSetup, after_diagnosis: Any, after_diagnosis_targets: list[str]) -> None:
    """Add the chat nodes to the supervisor's builder; `after_diagnosis` is the supervisor's own router."""
    diagnostics = build_diagnostics_graph(toolbox, timeline)

    async def route_turn(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        intent = await classify(toolbox.model, last_turn(list(state.get("messages") or [])))
        await timeline.add(runtime.context.incident_id, "route", f"chat turn → {intent.route} ({intent.form})",
                           {"intent": intent.model_dump(exclude={"manifest"})})
        update: dict[str, Any] = {"intent": intent.model_dump(mode="json"), "route": intent.route}
        if intent.route in ("diagnostics", "remediation"):
            incident = incident_for(intent, runtime.context)
            if incident is None:
                update["route"] = "qa"
            else:
                update.update(incident=incident.model_dump(mode="json"), diagnosis=None, plan=None, approval=None,
                              pr=None, escalation=None)
        return update

    async def qa(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        intent = ChatIntent.model_validate(state["intent"])
        executor = qa_agent.qa_executor(toolbox, runtime.context)
        if toolbox.model is None or intent.form == "what_runs":
            answer = await qa_agent.answer_offline(executor, intent)
            return {"messages": [AIMessage(answer.text(), name="qa")], "answer": answer.model_dump(mode="json")}
        added, answer = await qa_agent.answer_with_model(toolbox, executor, runtime.context,
                                                         list(state.get("messages") or []))
        return {"messages": [*added[:-1], AIMessage(answer.text(), name="qa", id=added[-1].id)],
                "answer": answer.model_dump(mode="json")}

    async def yaml(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        intent = ChatIntent.model_validate(state["intent"])
        answer = yaml_agent.answer_offline(intent, setup.kubernetes_version)
        if toolbox.model is not None and (answer.report is None or not answer.report.ok):
            draft = answer.yaml or intent.manifest
            answer, _ = await yaml_agent.repair(toolbox.model, last_turn(list(state.get("messages") or [])), draft,
                                                setup.kubernetes_version, setup.repair_attempts)
        return {"messages": [AIMessage(answer.text(), name="yaml")], "answer": answer.model_dump(mode="json")}

    async def diagnose_workload(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        result = await diagnostics.ainvoke({"incident": state["incident"], "budget": state.get("budget") or {}},
                                           context=runtime.context)
        return {key: result.get(key) for key in ("findings", "diagnosis", "escalation", "budget") if key in result}

    async def reply(state: State) -> dict[str, Any]:
        return {"messages": [AIMessage(diagnosis_reply(dict(state)), name="diagnostics")]}

    def route_after_turn(state: State) -> Literal["qa", "yaml", "diagnose_workload"]:
        route = state.get("route")
        return "yaml" if route == "yaml" else "diagnose_workload" if route in ("diagnostics", "remediation") else "qa"

    builder.add_node("route_turn", route_turn)
    builder.add_node("qa", qa)
    builder.add_node("yaml", yaml)
    builder.add_node("diagnose_workload", diagnose_workload)
    builder.add_node("reply", reply)
    builder.add_conditional_edges("route_turn", route_after_turn)
    builder.add_conditional_edges("diagnose_workload", after_diagnosis, after_diagnosis_targets)
    builder.add_edge("qa", "__end__")
    builder.add_edge("yaml", "__end__")
    builder.add_edge("reply", "__end__")


def route_entry(state: State) -> Literal["triage", "route_turn"]:
    """An incident starts at triage; a chat turn (messages, no incident yet) at route_turn."""
    return "triage" if state.get("incident") and not state.get("intent") else "route_turn"


def route_after_report(state: State) -> Literal["reply", "__end__"]:
    return "reply" if state.get("intent") else "__end__"
