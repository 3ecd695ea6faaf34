"""What a check returns: a `Finding` with its wording, its clues and the fix it suggests.

A check does not know which tool call produced a fact's text; it names `Clue` needles (strings the
tool output must contain, most specific first) and the engine turns each into `Evidence` quoting
the redacted output of the call that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.diagnosis import ResourceRef


@dataclass(frozen=True)
class Clue:
    needles: tuple[str, ...]
    call_id: str | None = None  # the call the fact came from, searched first

    @classmethod
    def of(cls, *needles: str | None, call_id: str | None = None) -> Clue:
        return cls(tuple(n for n in needles if n), call_id)


@dataclass(frozen=True)
class FixDraft:
    """A change; with `resource` None it lands on the workload owning the finding's pod, and
    `field_path` is written against the pod (`spec.containers[name=x]...`) for the engine to re-root."""

    field_path: str
    new_value: Any
    rationale: str
    resource: ResourceRef | None = None


@dataclass(frozen=True)
class Finding:
    category: str
    root_cause: str
    confidence: float
    subject: ResourceRef  # where the fault shows: a Pod, Service, Node, PVC, ResourceQuota, ...
    clues: tuple[Clue, ...] = ()
    fixes: tuple[FixDraft, ...] = ()
    escalate: str | None = None  # why a human must act even when the finding is certain
    related: tuple[ResourceRef, ...] = ()  # other affected objects (e.g. the workload behind a Service)
