"""What the chat-turn nodes call: read the turn, pick its route, and word the reply of a diagnosis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, HumanMessage

from agents.chat.intents import ChatIntent, classify_with_model, parse_intent
from agents.context import Context
from agents.diagnosis import IncidentInput, ResourceRef

MAX_TURN_CHARS = 20_000


@dataclass(frozen=True)
class ChatSetup:
    """What the chat agents need from the app: the Kubernetes version manifests are checked against, and
    how many repair rounds the YAML agent may ask of the model."""

    kubernetes_version: str = "1.31"
    repair_attempts: int = 3


def last_turn(messages: list[AnyMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text[:MAX_TURN_CHARS]
    return ""


async def classify(model: BaseChatModel | None, text: str) -> ChatIntent:
    """The model's structured choice when there is a model, the deterministic parser otherwise."""
    if model is None:
        return parse_intent(text)
    return await classify_with_model(model, text)


def incident_for(intent: ChatIntent, context: Context) -> IncidentInput | None:
    """A diagnostics or remediation turn names a workload: the graph works on it like an alert's."""
    if not intent.namespace:
        return None
    resource = (ResourceRef(kind=intent.kind or "Deployment", namespace=intent.namespace, name=intent.name)
                if intent.name else None)
    return IncidentInput(cluster=context.cluster.id, namespace=intent.namespace, resource=resource, alerts=[])


def diagnosis_reply(state: dict[str, Any]) -> str:
    """The chat answer after diagnostics (and remediation): what is wrong, on what evidence, what happens next."""
    diagnosis = state.get("diagnosis") or {}
    if not diagnosis:
        return "No diagnosis was reached."
    lines = [f"{diagnosis['category']}: {diagnosis['root_cause']} (confidence {diagnosis['confidence']:.2f}, "
             f"from {diagnosis['source']})"]
    lines += [f"- evidence [{e['call_id']}] {e['tool']}: {e['excerpt'][:200]}" for e in diagnosis.get("evidence", [])[:5]]
    lines += [f"- fix: {f['resource']['kind']}/{f['resource']['name']} {f['field_path']} → {f['new_value']!r}"
              for f in diagnosis.get("suggested_fixes", [])[:5]]
    if pr := state.get("pr"):
        lines.append(f"Pull request: {pr.get('url')}")
    elif (approval := state.get("approval")) and approval.get("decision") == "reject":
        lines.append(f"The change was rejected by {approval.get('approver')}.")
    elif escalation := state.get("escalation"):
        lines.append(f"Needs a person: {escalation.get('reason')}")
    return "\n".join(lines)
