"""What a chat turn asks for. Without a model a deterministic parser covers the common forms; with one,
structured output picks the route and its arguments (the same `ChatIntent`), and the parser is only
asked when the model is not.

    why is payment-api failing in shop        → diagnostics on Deployment payment-api in shop
    what runs in shop                         → qa: workloads and pods of shop
    write a deployment for nginx:1.27 ...     → yaml: generate from a structured request
    check this manifest: <yaml>               → yaml: lint and validate the pasted YAML
    I need a human / can a person look at this → human_help: a person on call answers (agents/chat/help.py)
"""

from __future__ import annotations

import re
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from agents.prompts import render_prompt

Route = Literal["qa", "diagnostics", "yaml", "remediation", "human_help"]
Form = Literal["why_failing", "what_runs", "write_manifest", "check_manifest", "question", "ask_person"]

NAME = r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?"
_KINDS = {"deployment": "Deployment", "statefulset": "StatefulSet", "daemonset": "DaemonSet", "job": "Job",
          "cronjob": "CronJob", "service": "Service", "pod": "Pod"}
_WHY = re.compile(
    rf"\bwhy\s+(?:is|are|does|do)\s+(?:the\s+)?(?:(?P<kind>deployment|statefulset|daemonset|job|pod)\s+)?"
    rf"(?P<name>{NAME})\s+(?:\w+\s+){{0,3}}?(?:failing|crash\w*|broken|down|pending|restarting|oom\w*|"
    rf"not\s+(?:ready|running|starting|working)|unhealthy|erroring)\b.*?\bin\s+(?:the\s+)?(?:namespace\s+|ns\s+)?"
    rf"(?P<ns>{NAME})", re.IGNORECASE | re.DOTALL)
_WHAT_RUNS = re.compile(
    rf"\bwhat(?:'s|\s+is)?\s+(?:runs|running|is\s+running|'s\s+running|is\s+deployed|workloads\s+are)\s+in\s+"
    rf"(?:the\s+)?(?:namespace\s+|ns\s+)?(?P<ns>{NAME})", re.IGNORECASE)
_WRITE = re.compile(
    r"\b(?:write|generate|create|make|give\s+me)\s+(?:me\s+)?(?:an?\s+)?(?P<kind>deployment|statefulset|daemonset|"
    r"cronjob|job|service)\s+(?:manifest\s+)?for\s+(?:the\s+)?(?:image\s+)?(?P<image>[\w./:@-]+)", re.IGNORECASE)
_REPLICAS = re.compile(r"\b(\d{1,4})\s+replicas?\b", re.IGNORECASE)
_PORT = re.compile(r"\bport\s+(\d{1,5})\b", re.IGNORECASE)
_IN_NS = re.compile(rf"\bin\s+(?:the\s+)?(?:namespace|ns)\s+(?P<ns>{NAME})\b", re.IGNORECASE)
_NAMED = re.compile(rf"\b(?:named|called)\s+(?P<name>{NAME})\b", re.IGNORECASE)
_CHECK = re.compile(r"^\s*(?:please\s+)?(?:check|validate|lint|review)\b[^\n:]*(?:manifest|yaml)\b", re.IGNORECASE)
_PERSON = re.compile(
    r"\b(?:i\s+(?:need|want)|let\s+me\s+(?:talk|speak)\s+to|get\s+me|page|escalate\s+to|(?:can|could)\s+)"
    r"\s*(?:an?\s+|the\s+|some\s*)?(?:one|body)?\s*(?:real\s+)?(?:human|person|engineer|on[- ]?call|sre)\b"
    r"|\b(?:talk|speak)\s+to\s+(?:an?\s+|the\s+)?(?:real\s+)?(?:human|person|on[- ]?call)\b",
    re.IGNORECASE)
_FENCE = re.compile(r"```(?:ya?ml)?\s*\n(?P<body>.*?)```", re.DOTALL | re.IGNORECASE)


class ChatIntent(BaseModel):
    """Where a chat turn goes and what it names; the model fills the same shape."""

    route: Route = Field(description="qa: questions about the cluster; diagnostics: why a named workload fails; "
                                     "yaml: write or check a manifest; remediation: fix a named workload; "
                                     "human_help: the person asks for a person")
    form: Form = Field(description="which of the common forms this is, or question")
    namespace: str | None = None
    name: str | None = Field(default=None, description="the workload the turn is about")
    kind: str | None = Field(default=None, description="Deployment, StatefulSet, DaemonSet, Job, CronJob, Service")
    image: str | None = None
    replicas: int | None = Field(default=None, ge=0, le=1000)
    port: int | None = Field(default=None, ge=1, le=65535)
    manifest: str | None = Field(default=None, description="pasted YAML to check, verbatim")
    reason: str = Field(default="", description="one sentence: why this route")


def parse_intent(text: str) -> ChatIntent:
    """The deterministic parser: one of the common forms, else a free question for QA."""
    if (manifest := pasted_manifest(text)) is not None:
        return ChatIntent(route="yaml", form="check_manifest", manifest=manifest, reason="a manifest was pasted")
    if _PERSON.search(text):
        return ChatIntent(route="human_help", form="ask_person", reason="asked for a person")
    if match := _WRITE.search(text):
        replicas, port, ns, named = _REPLICAS.search(text), _PORT.search(text), _IN_NS.search(text), _NAMED.search(text)
        return ChatIntent(route="yaml", form="write_manifest", kind=_KINDS[match["kind"].lower()],
                          image=match["image"].rstrip(".,"), replicas=int(replicas[1]) if replicas else None,
                          port=int(port[1]) if port and 0 < int(port[1]) < 65536 else None,
                          namespace=ns["ns"].lower() if ns else None, name=named["name"].lower() if named else None,
                          reason="asked to write a manifest")
    if match := _WHY.search(text):
        kind = _KINDS[match["kind"].lower()] if match["kind"] else "Deployment"
        return ChatIntent(route="diagnostics", form="why_failing", kind=kind, name=match["name"].lower(),
                          namespace=match["ns"].lower(), reason="asked why a named workload fails")
    if match := _WHAT_RUNS.search(text):
        return ChatIntent(route="qa", form="what_runs", namespace=match["ns"].lower(),
                          reason="asked what runs in a namespace")
    return ChatIntent(route="qa", form="question", reason="a free question")


def pasted_manifest(text: str) -> str | None:
    """The YAML of a "check this manifest" turn: a fenced block, or what follows the first line."""
    if fence := _FENCE.search(text):
        return fence["body"]
    if _CHECK.match(text):
        first, _, rest = text.partition("\n")
        tail = first.split(":", 1)[1] if ":" in first and not rest.strip() else rest
        return tail.strip("\n")
    if re.search(r"^apiVersion:\s*\S", text, re.MULTILINE) and re.search(r"^kind:\s*\S", text, re.MULTILINE):
        return text
    return None


async def classify_with_model(model: BaseChatModel, text: str) -> ChatIntent:
    """Structured output picks the route; a pasted manifest is kept verbatim, not retyped by the model."""
    intent = await model.with_structured_output(ChatIntent).ainvoke(
        [SystemMessage(render_prompt("chat_router")), HumanMessage(text)])
    assert isinstance(intent, ChatIntent)
    if intent.form == "check_manifest":
        intent = intent.model_copy(update={"manifest": pasted_manifest(text) or intent.manifest})
    return intent
