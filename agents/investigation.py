"""What the diagnostics graph's nodes call: the rule run, one model step, tool calls under the loop
guards, the structured conclusion, and the evidence check. Graph modules only wire these together.

Everything that crosses a node boundary is plain data (dicts, messages), because it is checkpointed:
a run resumed on another replica must see exactly what the first one saw.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, Field

from agents.audit import AuditSink
from agents.context import Context
from agents.diagnosis import Diagnosis, Evidence, IncidentInput, ResourceRef, SuggestedFix, check_evidence
from agents.knowledge.history import IncidentHistory, SeenBefore, lookback
from agents.knowledge.search import KnowledgeSearch
from agents.prompts import render_prompt
from agents.rules.engine import run_rules
from agents.rules.run import CALL_ID_PREFIX
from agents.safety.guards import (
    GuardTrip,
    is_last_step,
    repeated_call,
    step_limit_reached,
    token_budget_exceeded,
    wall_clock_exceeded,
)
from agents.skills.loader import Skill, SkillSet
from agents.toolsets.base import ToolResult, ToolStatus
from agents.toolsets.executor import ToolExecutor
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.kubernetes import DESCRIBE_TOOLS
from agents.toolsets.registry import ToolRegistry
from agents.taxonomy import CATEGORIES, CONFIDENT, NEEDS_HUMAN_BELOW

log = logging.getLogger(__name__)

AGENT = "diagnostics"
EVIDENCE_PENALTY = 0.5  # confidence is multiplied by this when quoted evidence is not in the output


@dataclass(frozen=True)
class Toolbox:
    """Process-wide pieces a diagnosis needs; built once in the app's lifespan."""

    registry: ToolRegistry
    skills: SkillSet
    clients: ClusterClients
    audit: AuditSink | None = None
    model: BaseChatModel | None = None
    knowledge: KnowledgeSearch | None = None  # what search_knowledge reads
    history: IncidentHistory | None = None  # incident memory: "seen before", and fixes that did not hold

    def executor(self, context: Context, allowed: Sequence[str]) -> ToolExecutor:
        return ToolExecutor(self.registry, context, agent=AGENT, allowed=allowed, audit=self.audit,
                            clients=self.clients, knowledge=self.knowledge)


# --- the rule path ---------------------------------------------------------------------------------


async def missing_target(executor: ToolExecutor, incident: IncidentInput) -> str | None:
    """For a request that names its target (no alert): the guard's message when it does not exist.
    An alert's own objects are not pre-checked: its pod may have been replaced, which the rules handle."""
    if incident.alerts:
        return None
    if incident.resource is not None:
        ref = incident.resource
        tool = DESCRIBE_TOOLS.get(ref.kind)
        args = {"namespace": ref.namespace, "name": ref.name} if tool else \
            {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name}
        result = await executor.call(tool or "get_resource_yaml", {k: v for k, v in args.items() if v is not None})
    elif incident.namespace:
        result = await executor.call("list_pods", {"namespace": incident.namespace})
    else:
        return None
    return result.message if result.status is ToolStatus.ERROR else None


async def diagnose_with_rules(toolbox: Toolbox, context: Context, incident: IncidentInput
                              ) -> tuple[Diagnosis, list[ToolResult], bool]:
    """Run the skills' decision trees; returns the diagnosis, the calls made, and cluster reachability."""
    executor = toolbox.executor(context, toolbox.skills.tools())
    missing = await missing_target(executor, incident)
    if missing is not None:
        diagnosis = Diagnosis(category="healthy", root_cause=f"cannot diagnose: {missing}", confidence=0.0,
                              needs_human=True, reason_for_human=missing, status="failed", failure_reason=missing)
        return diagnosis, executor.calls, executor.cluster_unreachable
    diagnosis = await run_rules(incident, executor, toolbox.skills)
    return diagnosis, executor.calls, executor.cluster_unreachable


async def recall_history(toolbox: Toolbox, context: Context, incident: IncidentInput,
                         skill: Skill) -> SeenBefore | None:
    """Earlier incidents of this workload or alert, as far back as the skill's memory policy looks. An
    unreachable memory costs the history, never the diagnosis."""
    if toolbox.history is None or skill.memory.max_items == 0:
        return None
    try:
        return await toolbox.history.seen_before(context, incident, lookback=lookback(skill.memory.lookback),
                                                 max_items=skill.memory.max_items)
    except Exception:  # a memory outage is logged and the diagnosis goes on without it
        log.warning("incident %s: incident memory unavailable; diagnosing without it", context.incident_id,
                    exc_info=True)
        return None


def history_for_model(history: SeenBefore | None) -> dict[str, str] | None:
    """The history as one quoted tool-output block for the prompt: past root causes are text others wrote."""
    if history is None:
        return None
    lines = [history.line()]
    for past in history.items:
        fixes = "; ".join(f"{f.get('field_path')} = {f.get('new_value')!r} on {(f.get('resource') or {}).get('kind')}/"
                          f"{(f.get('resource') or {}).get('name')}" for f in past.fixes) or "none"
        lines.append(f"- incident {past.incident_id} ({past.ended_at[:16]}): {past.category}: {past.root_cause}. "
                     f"Fix: {fixes} via {past.fix_words}: {past.held_words}. {past.outcome}")
    return {"tool": "incident_memory", "call_id": "memory", "status": "ok", "text": "\n".join(lines)}


def rules_settle_it(rules: Diagnosis, incident: IncidentInput) -> bool:
    """A confident rule finding is only explained by the model, not re-investigated. "Healthy" never
    settles an incident whose alert is still firing: something made it fire, so the model looks."""
    if rules.needs_human or rules.confidence < CONFIDENT:
        return False
    return not (rules.category == "healthy" and incident.firing())


def skill_for(toolbox: Toolbox, diagnosis: Diagnosis | None) -> Skill:
    if diagnosis is not None and diagnosis.skill and diagnosis.skill in toolbox.skills.skills:
        return toolbox.skills[diagnosis.skill]
    return toolbox.skills.base


# --- the model path --------------------------------------------------------------------------------

def opening_messages(skill: Skill, incident: IncidentInput, rules: Diagnosis | None,
                     results: Sequence[ToolResult], history: SeenBefore | None = None) -> list[AnyMessage]:
    """The system prompt for this skill, with the rules' finding, the incident memory and the tool output
    as quoted data."""
    findings = [f"{rules.category}: {rules.root_cause} (confidence {rules.confidence:.2f})"] if rules else []
    prompt = render_prompt("diagnostics", cluster=incident.cluster, namespace=incident.namespace, skill=skill,
                           alerts=incident.alerts, findings=findings, categories=list(CATEGORIES),
                           history=history_for_model(history),
                           results=[{"tool": r.tool, "call_id": r.call_id, "status": r.status.value,
                                     "text": r.text or r.message} for r in results])
    return [SystemMessage(prompt), HumanMessage("Investigate this incident and find its root cause.")]


def tools_offered(toolbox: Toolbox, context: Context, skill: Skill, steps: int) -> list[dict[str, Any]]:
    """The skill's tools available in this context; none on the last allowed step (the model must conclude)."""
    if is_last_step(steps, context.budgets):
        return []
    return toolbox.registry.langchain_tools(skill.tools, context=context)


async def model_step(model: BaseChatModel, messages: Sequence[AnyMessage], tools: list[dict[str, Any]]) -> AIMessage:
    bound = model.bind_tools(tools) if tools else model
    reply = await bound.ainvoke(list(messages))
    return reply if isinstance(reply, AIMessage) else AIMessage(content=str(reply))


def tokens_used(message: AIMessage) -> int:
    usage = message.usage_metadata or {}
    return int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))


async def run_tool_calls(toolbox: Toolbox, context: Context, skill: Skill, message: AIMessage,
                         history: Sequence[ToolResult]) -> tuple[list[ToolMessage], list[ToolResult], GuardTrip | None]:
    """Answer every tool call of a model message; a call repeated past the limit is not run."""
    executor = toolbox.executor(context, skill.tools)
    # The guard is about the model's own loop; the rules' calls reached it as quoted data instead.
    history = [r for r in history if not r.call_id.startswith(CALL_ID_PREFIX)]
    replies: list[ToolMessage] = []
    trip: GuardTrip | None = None
    for call in message.tool_calls:
        call_id = call.get("id") or f"call_{len(history) + len(executor.calls) + 1}"
        repeated = repeated_call([*history, *executor.calls], call["name"], call.get("args") or {}, context.budgets)
        if repeated is not None:
            trip = trip or repeated
            replies.append(ToolMessage(content=f"refused: {repeated.reason} Conclude with what you have.",
                                       tool_call_id=call_id, name=call["name"], status="error"))
            continue
        result = await executor.call(call["name"], call.get("args") or {}, call_id=call_id)
        replies.append(result.as_tool_message())
        if executor.cluster_unreachable and trip is None:
            trip = GuardTrip("cluster_unreachable", f"the cluster API became unreachable: {result.message}")
    return replies, executor.calls, trip


def budget_trip(context: Context, steps: int, tokens: int, started_at: float) -> GuardTrip | None:
    """The loop guards checked between steps; the first that trips forces a conclusion."""
    budgets = context.budgets
    return (step_limit_reached(steps, budgets) or token_budget_exceeded(tokens, budgets)
            or wall_clock_exceeded(started_at, time.time(), budgets))


class EvidenceDraft(BaseModel):
    call_id: str
    tool: str
    excerpt: str = Field(description="Copied exactly from that call's output.")


class FixDraft(BaseModel):
    resource: ResourceRef
    field_path: str
    new_value: Any = None
    rationale: str


class DiagnosisDraft(BaseModel):
    """What the model is asked for: the Diagnosis without the fields the graph owns."""

    category: str = Field(description="One of the fixed categories.")
    root_cause: str
    confidence: float = Field(ge=0, le=1)
    evidence: list[EvidenceDraft] = []
    affected: list[ResourceRef] = []
    suggested_fixes: list[FixDraft] = []
    needs_human: bool = False
    reason_for_human: str | None = None


async def conclude_with_model(model: BaseChatModel, messages: Sequence[AnyMessage], rules: Diagnosis | None,
                              forced: GuardTrip | None, problems: Sequence[str] = ()) -> Diagnosis:
    """Ask for the structured diagnosis; a forced stop or a rules result shapes what is kept."""
    ask = "Conclude now with your Diagnosis."
    if forced is not None:
        ask = f"Stop investigating ({forced.reason}) and conclude with the partial findings you have."
    if problems:
        ask += " Your previous evidence was rejected: " + "; ".join(problems) + ". Quote tool output exactly."
    draft = await model.with_structured_output(DiagnosisDraft).ainvoke([*messages, HumanMessage(ask)])
    draft = draft if isinstance(draft, DiagnosisDraft) else DiagnosisDraft.model_validate(draft)
    return _merge_draft(draft, rules, forced)


def _merge_draft(draft: DiagnosisDraft, rules: Diagnosis | None, forced: GuardTrip | None) -> Diagnosis:
    category = draft.category if draft.category in CATEGORIES else (rules.category if rules else "healthy")
    reason = draft.reason_for_human or (f"stopped early: {forced.reason}" if forced else None)
    if draft.category not in CATEGORIES:
        reason = f"the model answered an unknown category {draft.category!r}"
    # A confident rule result fixes what the fault is; the model explains and extends it.
    keep_rules = rules is not None and rules.confidence >= CONFIDENT and not rules.needs_human
    diagnosis = Diagnosis(
        category=rules.category if keep_rules and rules else category,
        root_cause=draft.root_cause,
        confidence=max(draft.confidence, rules.confidence) if keep_rules and rules else draft.confidence,
        evidence=[*(rules.evidence if keep_rules and rules else []),
                  *(Evidence(**e.model_dump()) for e in draft.evidence if e.excerpt)],
        affected=(rules.affected if keep_rules and rules else draft.affected),
        suggested_fixes=(rules.suggested_fixes if keep_rules and rules and rules.suggested_fixes
                         else [SuggestedFix(**f.model_dump()) for f in draft.suggested_fixes]),
        needs_human=draft.needs_human or reason is not None or forced is not None,
        reason_for_human=reason or ("stopped early" if forced else None),
        source="rules+model" if rules is not None else "model",
        status="partial" if forced else "complete",
        failure_reason=forced.reason if forced else None,
        skill=rules.skill if rules else None, checks=rules.checks if rules else [],
        errors=rules.errors if rules else [],
    )
    return diagnosis


def verify_evidence(diagnosis: Diagnosis, calls: Sequence[ToolResult]) -> list[str]:
    return check_evidence(diagnosis, list(calls))


def discount_unsupported(diagnosis: Diagnosis, problems: Sequence[str]) -> Diagnosis:
    """Evidence that is not in the cluster's output does not support a root cause: lower the confidence."""
    return diagnosis.model_copy(update={
        "confidence": round(diagnosis.confidence * EVIDENCE_PENALTY, 3),
        "errors": [*diagnosis.errors, *problems],
    })


def finalize(diagnosis: Diagnosis, *, alert_firing: bool, unreachable: str | None = None) -> Diagnosis:
    """Never dress a weak answer up as certain: low confidence and failures go to a person, and so does
    "healthy" while an alert is still firing (something made it fire that we did not find)."""
    update: dict[str, Any] = {}
    if unreachable is not None:
        update.update(status="failed", failure_reason=unreachable, needs_human=True,
                      reason_for_human=f"diagnosis failed: {unreachable}")
    elif diagnosis.confidence < NEEDS_HUMAN_BELOW and not diagnosis.needs_human:
        update.update(needs_human=True,
                      reason_for_human=f"low confidence ({diagnosis.confidence:.2f}); a human should confirm")
    elif diagnosis.category == "healthy" and alert_firing and not diagnosis.needs_human:
        update.update(needs_human=True, reason_for_human="the alert is firing but no fault was found; a person "
                                                         "should look at what the tools cannot see")
    return diagnosis.model_copy(update=update) if update else diagnosis


def failed_calls(results: Sequence[ToolResult]) -> list[str]:
    return [f"{r.tool}: {r.message}" for r in results if r.status not in (ToolStatus.OK, ToolStatus.NO_DATA)]
