"""What the HumanHelp subgraph calls: the question put to a person, and what their reply means.

A run lands here when the crew cannot finish on its own (low confidence, no viable fix, a guard or
budget stop, a rejected or failed change). The question carries the context a person needs; the
reply says how to go on: diagnose again with a hint, plan again, or close with their resolution.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.diagnosis import Diagnosis

# `answer` is a chat thread's only action (agents/chat/help.py): the reply is told to the chat user.
HelpAction = Literal["diagnose", "plan", "revert", "resolve", "answer"]
MAX_HELP_ROUNDS = 5  # after this many unanswered-by-the-crew rounds the run ends with its report


class HelpReply(BaseModel):
    """The resume value of the help question."""

    request_id: str = Field(min_length=1, max_length=200)
    action: HelpAction
    responder: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=4000)
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def help_reason(diagnosis: Diagnosis | None, escalation: dict[str, Any] | None) -> str:
    """Why a person is needed, in one line."""
    if escalation and escalation.get("reason"):
        return str(escalation["reason"])
    if diagnosis is None:
        return "there is nothing to diagnose"
    if diagnosis.needs_human:
        return diagnosis.reason_for_human or "the diagnosis needs a person"
    if not diagnosis.suggested_fixes:
        return f"no manifest change fixes this ({diagnosis.category}, confidence {diagnosis.confidence:.2f})"
    return "the crew could not finish"


def help_request(incident_id: str, round_number: int, diagnosis: Diagnosis | None,
                 escalation: dict[str, Any] | None, revert_commit: str | None = None) -> dict[str, Any]:
    """The question: deterministic for one thread and round, since an interrupted node runs again on resume."""
    actions: list[HelpAction] = ["diagnose", "resolve"]
    # No dead ends: a person may always ask for a plan again (after a rejection the change is asked
    # about anew: the moment may have passed; with a model, a hint and `diagnose` may change it).
    if diagnosis is not None and diagnosis.suggested_fixes:
        actions.insert(1, "plan")
    if revert_commit:  # the merged fix did not help: undoing it is a change behind the same approval gate
        actions.insert(-1, "revert")
    return {
        "kind": "help", "request_id": f"{incident_id}-help-{round_number}", "incident_id": incident_id,
        "round": round_number, "reason": help_reason(diagnosis, escalation),
        "from": (escalation or {}).get("from", "diagnostics"),
        "category": diagnosis.category if diagnosis else None,
        "root_cause": diagnosis.root_cause if diagnosis else None,
        "confidence": diagnosis.confidence if diagnosis else None,
        "evidence": [e.model_dump() for e in diagnosis.evidence[:5]] if diagnosis else [],
        "actions": actions, "revert_commit": revert_commit,
    }


def reply_problem(reply: HelpReply, request: dict[str, Any]) -> str | None:
    """Why a reply cannot answer this question, or None."""
    if reply.request_id != request.get("request_id"):
        return f"the reply answers {reply.request_id}, but the open question is {request.get('request_id')}"
    if reply.action not in request.get("actions", []):
        return f"{reply.action!r} is not possible here (choose one of {', '.join(request.get('actions', []))})"
    return None


def hint_message(reply: HelpReply) -> str:
    """The person's hint as the next investigation reads it."""
    return f"A person ({reply.responder}) looked at this incident and says: {reply.text}\n" \
           "Take this into account, check it against the cluster, and conclude again."
