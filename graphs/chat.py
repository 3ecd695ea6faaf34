"""Chat turns under the supervisor: read the turn, route it, answer it.

    START ─(messages)─► route_turn ─┬─ qa ───────────────────────────────────────────────► END
                                    ├─ yaml ─────────────────────────────────────────────► END
                                    ├─ diagnose_workload ─► (remediation ─►) report ─► reply ─► END
                                    │    (stuck: qa, yaml, a diagnosis or change that needs a person)
                                    └─ handoff ─► ask_person ─(interrupt)─► deliver_answer ─► END
                                                      ▲                          │
                                                      └──(timed out: told, asks again)

Diagnostics runs as its own invocation (the chat's messages are not its investigation), and a fix
goes through the same remediation subgraph and approval gate as an alert's. A chat turn that needs a
person (asked for, or the agent is stuck) waits in `ask_person` on a question keyed to the thread; the
app posts it (HTTP, Slack) and resumes with the recorded reply, which becomes the assistant's next
message. Nodes call into `agents/`.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.graph import StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agents.chat import help as chat_help
from agents.chat import qa as qa_agent
from agents.chat.intents import ChatIntent
from agents.chat.turns import ChatSetup, classify, diagnosis_reply, incident_for, last_turn
from agents.context import Context
from agents.human_help import MAX_HELP_ROUNDS, HelpReply
from agents.investigation import Toolbox
from agents.manifests import agent as yaml_agent
from agents.timeline import Timeline
from graphs.diagnostics import build_diagnostics_graph
from graphs.state import State


def add_chat_turns(builder: StateGraph[Any, Any, Any, Any], toolbox: Toolbox, timeline: Timeline,
                   setup: ChatSetup, after_diagnosis: Any, after_diagnosis_targets: list[str]) -> None:
    """Add the chat nodes to the supervisor's builder; `after_diagnosis` is the supervisor's own router
    (where it would send an incident to `human_help`, a chat turn goes to `handoff`)."""
    diagnostics = build_diagnostics_graph(toolbox, timeline)

    async def route_turn(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        intent = await classify(toolbox.model, last_turn(list(state.get("messages") or [])))
        await timeline.add(runtime.context.incident_id, "route", f"chat turn → {intent.route} ({intent.form})",
                           {"intent": intent.model_dump(exclude={"manifest"})})
        update: dict[str, Any] = {"intent": intent.model_dump(mode="json"), "route": intent.route, "answer": None,
                                  "diagnosis": None, "escalation": None}
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
        if answer.needs_person:  # the model's own AskAPerson call and its tool answer stay in the history
            return {"messages": [*added, AIMessage(answer.text(), name="qa")], "answer": answer.model_dump(mode="json")}
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

    async def handoff(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        values = dict(state)
        messages = list(state.get("messages") or [])
        reason = (chat_help.stuck_reason(values) or (state.get("escalation") or {}).get("reason")
                  or ((state.get("diagnosis") or {}).get("reason_for_human"))
                  or ("the user asked for a person" if state.get("route") == "human_help"
                      else "the agent could not finish this turn"))
        request = chat_help.chat_help_request(
            runtime.context.incident_id, state.get("help_rounds", 0) + 1, question=last_turn(messages),
            reason=reason, tried=chat_help.what_was_tried(values), source=str(state.get("route") or "chat"))
        messages_out = [AIMessage(diagnosis_reply(values), name="diagnostics")] if state.get("diagnosis") else []
        await timeline.add(runtime.context.incident_id, "help", f"asking a person: {reason}",
                           {"request_id": request["request_id"]})
        return {"help_request": request, "help_reply": None,
                "messages": [*messages_out, chat_help.handoff_message(request)]}

    async def ask_person(state: State) -> dict[str, Any]:
        # Nothing before the interrupt: on resume this node runs again from its first line.
        return {"help_reply": interrupt(state["help_request"])}

    async def deliver_answer(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        request = state["help_request"] or {}
        outcome = chat_help.read_resume(state.get("help_reply"), request)
        if isinstance(outcome, HelpReply):
            await timeline.add(runtime.context.incident_id, "help", f"answer from {outcome.responder}: {outcome.text}",
                               {"request_id": outcome.request_id})
            return {"messages": [chat_help.answer_message(outcome)], "help_rounds": state.get("help_rounds", 0) + 1,
                    "help_reply": outcome.model_dump(mode="json"), "escalation": None}
        if outcome is not None:  # nobody answered in time: the user is told, the question stays open
            return {"messages": [chat_help.timeout_message(request)], "help_reply": None}
        return {"help_reply": None}  # a resume for another question answers nothing: ask again

    def route_after_answer(state: State) -> Literal["ask_person", "__end__"]:
        return "__end__" if state.get("help_reply") else "ask_person"

    def route_after_turn(state: State) -> Literal["qa", "yaml", "diagnose_workload", "handoff"]:
        route = state.get("route")
        if route == "human_help":
            return "handoff"
        return "yaml" if route == "yaml" else "diagnose_workload" if route in ("diagnostics", "remediation") else "qa"

    def route_after_agent(state: State) -> Literal["handoff", "__end__"]:
        stuck = chat_help.stuck_reason(dict(state)) and state.get("help_rounds", 0) < MAX_HELP_ROUNDS
        return "handoff" if stuck else "__end__"

    def route_after_chat_diagnosis(state: State) -> str:
        route = after_diagnosis(state)
        return "handoff" if route == "human_help" else route

    builder.add_node("route_turn", route_turn)
    builder.add_node("qa", qa)
    builder.add_node("yaml", yaml)
    builder.add_node("diagnose_workload", diagnose_workload)
    builder.add_node("reply", reply)
    builder.add_node("handoff", handoff)
    builder.add_node("ask_person", ask_person)
    builder.add_node("deliver_answer", deliver_answer)
    builder.add_conditional_edges("route_turn", route_after_turn)
    builder.add_conditional_edges("diagnose_workload", route_after_chat_diagnosis,
                                  sorted({*after_diagnosis_targets} - {"human_help"} | {"handoff"}))
    builder.add_conditional_edges("qa", route_after_agent)
    builder.add_conditional_edges("yaml", route_after_agent)
    builder.add_edge("handoff", "ask_person")
    builder.add_edge("ask_person", "deliver_answer")
    builder.add_conditional_edges("deliver_answer", route_after_answer)
    builder.add_edge("reply", "__end__")


def route_entry(state: State) -> Literal["triage", "route_turn"]:
    """An incident starts at triage; a chat turn (messages, no incident yet) at route_turn."""
    return "triage" if state.get("incident") and not state.get("intent") else "route_turn"


def route_after_report(state: State) -> Literal["reply", "__end__"]:
    return "reply" if state.get("intent") else "__end__"
