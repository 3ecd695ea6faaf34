"""What the chat's HumanHelp nodes call: when a chat turn goes to a person, the question put to them, and
how their answer (or the lack of one) is told to the chat user.

A chat turn goes to a person when the user asks for one ("I need a human"), or when the agent that took
the turn is stuck: the QA model calls `AskAPerson` (no answer with evidence, a request outside its tools,
a write it may not do), the YAML repair loop ends with a manifest that still fails its checks, or a
diagnosis needs a person. The question is keyed to the chat thread, not to an incident.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field, ValidationError

from agents.human_help import HelpReply, reply_problem

AGENT = "human_help"
ASK_A_PERSON = "AskAPerson"
CHAT_ACTIONS = ["answer"]  # a chat question is answered in words; nothing else follows from the reply
MAX_QUESTION_CHARS = 2000  # the user's turn as shown on the card and over HTTP
MAX_TRIED = 8


class AskAPerson(BaseModel):
    """Hand this question to a person on call instead of answering it: use it when the read-only tools cannot
    show the answer, the request needs something outside your tools, or it asks for a change you may not make."""

    reason: str = Field(description="one sentence for the person: what you could not do, and why")


class HelpTimeout(BaseModel):
    """The resume value the help sweep sends when nobody answered in time: the chat user is told, and the
    question stays open (a late reply still comes through)."""

    kind: Literal["help_timeout"] = "help_timeout"
    request_id: str


def chat_help_request(thread_id: str, round_number: int, *, question: str, reason: str,
                      tried: list[str], source: str) -> dict[str, Any]:
    """The question: deterministic for one thread and round, since an interrupted node runs again on resume."""
    return {"kind": "help", "request_id": f"chat:{thread_id}:help-{round_number}", "thread_id": thread_id,
            "round": round_number, "from": source, "reason": reason, "question": question[:MAX_QUESTION_CHARS],
            "tried": tried[:MAX_TRIED], "actions": list(CHAT_ACTIONS)}


def stuck_reason(state: dict[str, Any]) -> str | None:
    """Why the agent that took this turn could not finish it on its own, or None when it answered."""
    answer = state.get("answer") or {}  # agents.chat.qa.QaAnswer or agents.manifests.agent.ManifestAnswer
    return str(answer["needs_person"]) if answer.get("needs_person") else None


def what_was_tried(state: dict[str, Any]) -> list[str]:
    """What the agent did before asking, in a few lines for the person (from the turn's own answer)."""
    intent = state.get("intent") or {}
    answer = state.get("answer") or {}
    tried = [f"routed the turn to {intent.get('route')} ({intent.get('form')})"] if intent else []
    tried += [f"{c['tool']}({', '.join(f'{k}={v}' for k, v in c.get('args', {}).items())}): {c.get('status')}"
              for c in answer.get("citations") or []]
    for problem in ((answer.get("report") or {}).get("problems") or [])[:3]:
        tried.append(f"manifest check: {problem.get('rule')}: {str(problem.get('message'))[:200]}")
    diagnosis = state.get("diagnosis") or {}
    if diagnosis:
        tried.append(f"diagnosed {diagnosis.get('category')}: {diagnosis.get('root_cause')} "
                     f"(confidence {float(diagnosis.get('confidence') or 0):.2f})")
    if (escalation := state.get("escalation")) and escalation.get("reason"):
        tried.append(f"stopped: {escalation['reason']}")
    return tried or ["nothing: the user asked for a person"]


def handoff_message(request: dict[str, Any]) -> AIMessage:
    return AIMessage(f"I have asked a person to answer this ({request['reason']}). Their answer will appear "
                     f"here as the next message; the question is `{request['request_id']}`.", name=AGENT)


def answer_message(reply: HelpReply) -> AIMessage:
    who = reply.responder.removeprefix("slack:")
    return AIMessage(f"{who} answered: {reply.text}", name=AGENT)


def timeout_message(request: dict[str, Any]) -> AIMessage:
    return AIMessage("No one has answered yet. Your question stays open: an answer given later will still "
                     f"appear here ({request['request_id']}).", name=AGENT)


def read_resume(value: Any, request: dict[str, Any]) -> HelpReply | HelpTimeout | None:
    """The resume value as the reply to this question, the timeout of this question, or None when it
    answers another question (the node then asks again: a reply answers only what it was given for)."""
    try:
        if isinstance(value, dict) and value.get("kind") == "help_timeout":
            timeout = HelpTimeout.model_validate(value)
            return timeout if timeout.request_id == request.get("request_id") else None
        reply = HelpReply.model_validate(value)
    except ValidationError:
        return None
    return None if reply_problem(reply, request) is not None else reply
