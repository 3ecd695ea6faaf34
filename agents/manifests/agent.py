"""The YAML agent: write a manifest from a structured request, check pasted YAML, and (with a model)
repair a manifest in a bounded loop that feeds every problem back until the check passes."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError

from agents.chat.intents import ChatIntent
from agents.manifests.check import ManifestReport, check_manifests
from agents.manifests.generate import ManifestRequest, generate_manifests, to_yaml
from agents.prompts import render_prompt


class ManifestAnswer(BaseModel):
    form: str
    yaml: str | None = None  # the manifest written or repaired
    report: ManifestReport | None = None  # the check of `yaml`, or of the pasted text when nothing was written
    original: ManifestReport | None = None  # the pasted text's check, when it was repaired
    attempts: int = 0  # repair rounds the model took
    message: str = ""
    needs_person: str | None = None  # the repair loop ran out with the manifest still failing: a person looks

    def text(self) -> str:
        parts = [self.message] if self.message else []
        if self.original is not None:
            parts.append("The manifest as pasted:\n" + self.original.summary())
        if self.report is not None:
            parts.append(self.report.summary())
        if self.yaml:
            parts.append(f"```yaml\n{self.yaml}```")
        return "\n\n".join(parts)


class ManifestDraft(BaseModel):
    """What the model hands back in the repair loop."""

    yaml: str = Field(description="the complete manifest(s), YAML, no prose")


def answer_offline(intent: ChatIntent, kubernetes_version: str) -> ManifestAnswer:
    if intent.form == "check_manifest":
        report = check_manifests(intent.manifest or "", kubernetes_version)
        return ManifestAnswer(form="check_manifest", report=report)
    try:
        request = ManifestRequest(kind=intent.kind or "Deployment", image=intent.image or "", name=intent.name,
                                  namespace=intent.namespace, replicas=intent.replicas if intent.replicas is not None
                                  else 2, port=intent.port, with_service=intent.port is not None)
        text = to_yaml(generate_manifests(request))
    except (ValidationError, ValueError) as exc:
        return ManifestAnswer(form="write_manifest", message=f"Cannot write that manifest: {_reason(exc)}")
    return ManifestAnswer(form="write_manifest", yaml=text, report=check_manifests(text, kubernetes_version),
                          message=f"A {request.kind} for {request.image}, with requests/limits, probes, a non-root "
                                  "read-only container and the standard labels:")


async def repair(model: BaseChatModel, ask: str, draft: str | None, kubernetes_version: str,
                 max_attempts: int) -> tuple[ManifestAnswer, list[AnyMessage]]:
    """Ask the model for a manifest until it checks clean or `max_attempts` rounds are spent."""
    messages: list[AnyMessage] = [SystemMessage(render_prompt("manifests", kubernetes_version=kubernetes_version)),
                                  HumanMessage(ask)]
    report = check_manifests(draft, kubernetes_version) if draft is not None else None
    original = report
    attempts = 0
    while (report is None or not report.ok) and attempts < max_attempts:
        if report is not None and draft is not None:
            messages.append(HumanMessage(f"This manifest fails its checks:\n```yaml\n{draft}```\n{report.summary()}\n"
                                         "Return the whole corrected manifest."))
        result = await model.with_structured_output(ManifestDraft).ainvoke(messages)
        assert isinstance(result, ManifestDraft)
        attempts += 1
        draft = result.yaml
        messages.append(AIMessage(f"```yaml\n{draft}```"))
        report = check_manifests(draft, kubernetes_version)
    ok = report is not None and report.ok
    message = (f"Repaired in {attempts} round(s); it now passes the schema and lint checks." if ok and attempts
               else "It passes the schema and lint checks." if ok
               else f"Still failing after {attempts} repair round(s); the problems are below.")
    stuck = None if ok or not attempts else f"the manifest still fails its checks after {attempts} repair round(s)"
    return ManifestAnswer(form="repair", yaml=draft, report=report, original=original if attempts else None,
                          attempts=attempts, message=message, needs_person=stuck), messages[2:]


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in exc.errors())
    return str(exc)
