"""Graph state. Everything here is checkpointed, so it is plain data: dicts of pydantic dumps.

`State` is the supervisor's; `InputState` is what a run starts from; each subgraph adds private
channels and declares an `...Output` that limits what flows back up.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages


def merge_findings(left: list[dict[str, Any]] | None, right: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Append tool results once each: a subgraph hands back its whole list, not only what it added."""
    merged = list(left or [])
    seen = {item.get("call_id") for item in merged}
    merged.extend(item for item in right or [] if item.get("call_id") not in seen)
    return merged


class Budget(TypedDict, total=False):
    steps: int  # model steps taken by the investigation
    tool_calls: int
    tokens: int  # prompt + completion tokens spent on this incident


class InputState(TypedDict, total=False):
    incident: dict[str, Any]  # agents.diagnosis.IncidentInput, dumped (an alert's run)
    messages: Annotated[list[AnyMessage], add_messages]  # a chat turn's run


class State(TypedDict, total=False):
    incident: dict[str, Any]
    route: str  # where triage sent the run
    messages: Annotated[list[AnyMessage], add_messages]
    findings: Annotated[list[dict[str, Any]], merge_findings]  # ToolResult dumps, already redacted
    diagnosis: dict[str, Any] | None  # agents.diagnosis.Diagnosis, dumped
    plan: dict[str, Any] | None
    approval: dict[str, Any] | None
    pr: dict[str, Any] | None
    actions_done: list[dict[str, Any]] | None
    pr: dict[str, Any] | None
    actions: list[dict[str, Any]] | None  # agents.direct_actions.ActionStep dumps, bound into plan.diff_hash
    actions_done: list[dict[str, Any]] | None  # {index, tool, args, status, message, data} per run action
    escalation: dict[str, Any] | None
    budget: Budget
    # Chat turns (issue 12): the turn's route and arguments, and the QA or YAML agent's structured answer.
    intent: dict[str, Any] | None  # agents.chat.intents.ChatIntent, dumped
    answer: dict[str, Any] | None  # agents.chat.qa.QaAnswer or agents.manifests.agent.ManifestAnswer, dumped
    # HumanHelp (issue 11): the open or last question, the person's reply, their hints for the next
    # diagnosis, and their resolution when they closed the incident themselves.
    help_request: dict[str, Any] | None
    help_reply: dict[str, Any] | None
    help_rounds: int
    hints: list[str]
    resolution: dict[str, Any] | None
    revert_of: str | None  # the fix commit a person asked to undo (after a failed verification)


class DiagnosticsState(State, total=False):
    rules: dict[str, Any] | None  # what the rule engine concluded
    forced: dict[str, str] | None  # the loop guard that stopped the investigation: {guard, reason}
    problems: list[str]  # evidence problems sent back to the model once
    evidence_retries: int
    started_at: float  # wall-clock seconds; a resumed run keeps its original start
    unreachable: str | None
    history: dict[str, Any] | None  # agents.knowledge.history.SeenBefore, dumped: earlier incidents (issue 13)


class DiagnosticsOutput(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    findings: Annotated[list[dict[str, Any]], merge_findings]
    diagnosis: dict[str, Any] | None
    escalation: dict[str, Any] | None
    budget: Budget


class RemediationState(State, total=False):
    # Besides the shared channels (plan, approval, pr, escalation): the model's corrections of a plan
    # that failed its checks. `diagnosis` is updated here with the corrected fixes (not sent up).
    replans: int  # corrections asked of the model so far
    replan_problems: list[str]  # every problem the plans ran into, in order, for the escalation


class RemediationOutput(TypedDict, total=False):
    plan: dict[str, Any] | None
    approval: dict[str, Any] | None
    pr: dict[str, Any] | None
    actions_done: list[dict[str, Any]] | None
    pr: dict[str, Any] | None
    actions: list[dict[str, Any]] | None
    actions_done: list[dict[str, Any]] | None
    escalation: dict[str, Any] | None


class HumanHelpOutput(TypedDict, total=False):
    help_request: dict[str, Any] | None
    help_reply: dict[str, Any] | None
    help_rounds: int
    hints: list[str]
    resolution: dict[str, Any] | None
    revert_of: str | None
    escalation: dict[str, Any] | None
    budget: Budget
    plan: dict[str, Any] | None
    approval: dict[str, Any] | None
    pr: dict[str, Any] | None
    actions_done: list[dict[str, Any]] | None
