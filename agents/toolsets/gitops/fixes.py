"""Offline fix templates: a concrete value when the diagnosis knows what is wrong but not the number.

Pure functions of observed facts, each with a table test. The planner uses them only when a
SuggestedFix has no `new_value`; a concrete value from the rules or the model always wins.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from agents.rules.quantity import parse_quantity
from agents.toolsets.gitops.tree import split_image

MEMORY_HEADROOM = 0.25
_MI = 2**20


class FixFacts(BaseModel):
    """What the diagnosis observed that the templates need, keyed by container name."""

    memory_peak: dict[str, float] = Field(default_factory=dict, description="Peak working set in bytes.")
    last_good_image: dict[str, str] = Field(
        default_factory=dict, description="The image (or tag) that last ran, from the rollout history.")


def clean_memory(mebibytes: float) -> str:
    """The smallest 'clean' size ≥ `mebibytes`: 64Mi steps to 512Mi, then 128Mi to 1Gi, then 512Mi steps.

    Reviewers read `384Mi` or `1536Mi` as a decision and `391Mi` as an accident.
    """
    if mebibytes <= 512:
        step = 64
    elif mebibytes <= 1024:
        step = 128
    else:
        step = 512
    size = max(step, math.ceil(mebibytes / step) * step)
    return f"{size // 1024}Gi" if size % 1024 == 0 else f"{size}Mi"


def memory_limit_for_peak(peak_bytes: float, headroom: float = MEMORY_HEADROOM) -> str:
    """A limit with at least `headroom` above the observed peak, rounded up to a clean size."""
    return clean_memory(peak_bytes * (1 + headroom) / _MI)


def memory_request_for(limit: str, current_request: Any) -> str | None:
    """The request to set next to a new limit, or None to keep the current one.

    A missing request becomes the limit (memory is not compressible: the scheduler should reserve
    what the pod may use); one above the new limit is lowered to it; one at or below stays.
    """
    current = parse_quantity(current_request)
    new_limit = parse_quantity(limit)
    if current is None or (new_limit is not None and current > new_limit):
        return limit
    return None


def image_with_tag(current_image: str, last_good: str) -> str:
    """`last_good` as a full image ref: a bare tag goes onto the current repository."""
    if "/" in last_good or ":" in last_good or "@" in last_good:
        return last_good
    name, _, _ = split_image(current_image)
    return f"{name}:{last_good}"


def env_from_configmap(variable: str, configmaps: Mapping[str, Iterable[str]]) -> dict[str, Any] | None:
    """An env entry reading `variable` from the first ConfigMap (by name) that has that key."""
    for name in sorted(configmaps):
        if variable in set(configmaps[name]):
            return {"name": variable, "valueFrom": {"configMapKeyRef": {"name": name, "key": variable}}}
    return None


def closest_declared(current: str, declared: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The declared name most like `current` (a reference to something that does not exist), or None when no
    name is close enough to say it is the one that was meant."""
    found = difflib.get_close_matches(current, sorted(set(declared) - {current}), n=1, cutoff=cutoff)
    return found[0] if found else None
