"""The shared `Diagnosis` type: what the rule path and the model path both produce.

Evidence points at a tool call (`call_id`) and quotes an excerpt of that call's `ToolResult.text`,
which the toolset has already redacted; so no caller has to remember to redact an excerpt, and
`check_evidence` can prove every quote is real.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.knowledge.history import SeenBefore
from agents.taxonomy import CATEGORIES


class ResourceRef(BaseModel):
    model_config = ConfigDict(frozen=True)  # hashable: used as a key and in sets

    kind: str
    namespace: str | None = None
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


class Evidence(BaseModel):
    call_id: str
    tool: str
    excerpt: str = Field(min_length=1, description="A substring of that call's ToolResult.text (or, for a call "
                         "that failed, e.g. 'not found', of its ToolResult.message).")


class SuggestedFix(BaseModel):
    resource: ResourceRef
    field_path: str = Field(description="e.g. spec.template.spec.containers[name=web].resources.limits.memory")
    new_value: Any
    rationale: str


class Diagnosis(BaseModel):
    category: str
    root_cause: str
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: list[Evidence] = []
    affected: list[ResourceRef] = Field(default_factory=list, description="The workload first, then the rest.")
    suggested_fixes: list[SuggestedFix] = []
    needs_human: bool = False
    reason_for_human: str | None = None
    source: Literal["rules", "model", "rules+model"] = "rules"
    status: Literal["complete", "partial", "failed"] = "complete"
    failure_reason: str | None = None
    # Added by the skills half: which skill and checks produced it, and what went wrong on the way.
    skill: str | None = None
    checks: list[str] = Field(default_factory=list, description="Checks that produced the finding.")
    errors: list[str] = Field(default_factory=list, description="One sentence per failed tool call or check.")
    # Added by the knowledge base (issue 13): earlier incidents of this workload and how their fixes did.
    history: SeenBefore | None = None

    @field_validator("category")
    @classmethod
    def _known_category(cls, category: str) -> str:
        if category not in CATEGORIES:
            raise ValueError(f"{category!r} is not a known category (one of: {', '.join(CATEGORIES)})")
        return category

    @model_validator(mode="after")
    def _human_needs_a_reason(self) -> Diagnosis:
        if self.needs_human and not self.reason_for_human:
            raise ValueError("needs_human=True needs a reason_for_human")
        return self


class IncidentInput(BaseModel):
    """What a diagnosis starts from: the incident's cluster, namespace, resource and its firing alerts."""

    cluster: str = "default"
    namespace: str | None = None
    resource: ResourceRef | None = None
    alerts: list[dict[str, Any]] = Field(default_factory=list, description="Alertmanager v4 alert entries.")

    def alert_labels(self) -> list[dict[str, str]]:
        return [dict(alert.get("labels") or {}) for alert in self.alerts]

    def firing(self) -> bool:
        return any(alert.get("status", "firing") == "firing" for alert in self.alerts)


class CallRecord(Protocol):
    """What `check_evidence` needs of a ToolResult."""

    call_id: str
    tool: str
    text: str
    message: str


def check_evidence(diagnosis: Diagnosis, calls: list[CallRecord]) -> list[str]:
    """Problems with the diagnosis's evidence: unknown calls, wrong tools, excerpts not in the output."""
    by_id = {call.call_id: call for call in calls}
    problems: list[str] = []
    for item in diagnosis.evidence:
        call = by_id.get(item.call_id)
        if call is None:
            problems.append(f"evidence cites call {item.call_id!r}, which was never made")
        elif call.tool != item.tool:
            problems.append(f"evidence cites call {item.call_id!r} as {item.tool}, but it was {call.tool}")
        elif item.excerpt not in call.text and item.excerpt not in (call.message or ""):
            problems.append(f"evidence excerpt {item.excerpt[:60]!r} is not in the output of call {item.call_id!r}")
    return problems
