"""The HumanHelp subgraph: ask a person, wait (for hours, on any replica), and carry their answer on.

    ask ──(interrupt: the question)──► apply_reply ──► END   (the supervisor routes on the reply)
     ▲                                     │
     └──────(a reply to another question)──┘

`ask` does nothing but ask: LangGraph re-runs an interrupted node from its first line on resume, so
the question is deterministic (agents.human_help.help_request) and the timeline entry comes after.
The app records the question, posts it (timeline, HTTP API, Slack) and resumes with the recorded reply.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agents.context import Context
from agents.diagnosis import Diagnosis
from agents.human_help import HelpReply, help_request, hint_message, reply_problem
from agents.timeline import Timeline
from graphs.state import HumanHelpOutput, State


def build_human_help_graph(timeline: Timeline) -> Any:
    async def ask(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        diagnosis = Diagnosis.model_validate(state["diagnosis"]) if state.get("diagnosis") else None
        escalation = state.get("escalation") or {}
        revert = (state.get("pr") or {}).get("commit") if escalation.get("from") == "verification" else None
        request = help_request(runtime.context.incident_id, state.get("help_rounds", 0) + 1, diagnosis,
                               escalation, revert_commit=revert)
        answer = interrupt(request)
        return {"help_request": request, "help_reply": HelpReply.model_validate(answer).model_dump(mode="json")}

    async def apply_reply(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        reply = HelpReply.model_validate(state["help_reply"])
        request = state["help_request"] or {}
        if reply_problem(reply, request) is not None:
            return {}  # route_after_reply asks again: a reply answers only the question it was given for
        await timeline.add(runtime.context.incident_id, "help", f"{reply.action} from {reply.responder}: {reply.text}",
                           {"request_id": reply.request_id, "action": reply.action})
        update: dict[str, Any] = {"help_rounds": state.get("help_rounds", 0) + 1, "escalation": None,
                                  "revert_of": request.get("revert_commit") if reply.action == "revert" else None}
        if reply.action == "diagnose":
            # A fresh investigation that starts from the person's hint, with a fresh step budget (the
            # supervisor clears the conversation: a removal made in here would not reach its channel).
            update.update(budget={}, hints=[*(state.get("hints") or []), hint_message(reply)])
        elif reply.action in ("plan", "revert"):
            # A new change: the earlier one's plan, decision and pull request belong to the timeline now.
            update.update(plan=None, approval=None, pr=None, actions_done=None)
        else:
            update["resolution"] = {"by": reply.responder, "text": reply.text, "at": reply.at.isoformat()}
        return update

    def route_after_reply(state: State) -> Literal["ask", "__end__"]:
        reply = HelpReply.model_validate(state["help_reply"])
        return "ask" if reply_problem(reply, state.get("help_request") or {}) is not None else END

    builder = StateGraph(State, context_schema=Context, output_schema=HumanHelpOutput)
    builder.add_node("ask", ask)
    builder.add_node("apply_reply", apply_reply)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", "apply_reply")
    builder.add_conditional_edges("apply_reply", route_after_reply)
    return builder.compile()
