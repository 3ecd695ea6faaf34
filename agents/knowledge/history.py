"""Incident memory as the agents see it: what earlier incidents of the same workload or alert taught us.

`SeenBefore` is part of a `Diagnosis` ("seen before: 2 times; last fix PR #12 did not hold"), rendered in
the diagnosis timeline entry, the pull request body and the incident card, and given to the model as
quoted data. `IncidentHistory` is the seam `app/` implements over Postgres.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Protocol

from pydantic import BaseModel, Field

from agents.context import Context


class PastIncident(BaseModel):
    incident_id: int
    ended_at: str  # ISO timestamp
    category: str | None = None
    root_cause: str | None = None
    fixes: list[dict[str, Any]] = Field(default_factory=list, description="SuggestedFix dumps: resource, "
                                        "field_path, new_value, rationale")
    pr_number: int | None = None
    pr_url: str | None = None
    held: bool | None = None  # True: verified healthy after the merge; False: still failing; None: unknown
    outcome: str = ""  # one sentence: how it ended

    @property
    def fix_words(self) -> str:
        if self.pr_number is not None:
            return f"PR #{self.pr_number}"
        return "the fix" if self.fixes else "no fix"

    @property
    def held_words(self) -> str:
        return {True: "held", False: "did not hold", None: "outcome unknown"}[self.held]


class SeenBefore(BaseModel):
    """Earlier incidents of the same workload or alert fingerprint, most recent first."""

    times: int = Field(ge=1)
    items: list[PastIncident] = Field(min_length=1)
    repeated_fix: str | None = None  # set when the proposed fix is one that did not hold before

    @property
    def last(self) -> PastIncident:
        return self.items[0]

    def line(self) -> str:
        """One sentence for a person: "seen before: 2 times (last: incident 41, ...); last fix PR #12 did not
        hold"."""
        last = self.last
        times = "1 time" if self.times == 1 else f"{self.times} times"
        text = (f"seen before: {times} (last: incident {last.incident_id}, {last.category or 'unknown'}, "
                f"ended {last.ended_at[:16].replace('T', ' ')}); ")
        if last.pr_number is not None or last.held is not None:
            text += f"last fix {last.fix_words} {last.held_words}"
        else:
            text += f"no fix was verified ({last.outcome or 'it ended'})"
        failed = [p for p in self.items if p.held is False]
        if failed and failed[0] is not last:
            text += f"; {failed[0].fix_words} (incident {failed[0].incident_id}) did not hold"
        if self.repeated_fix:
            text += f". {self.repeated_fix}"
        return text


class IncidentHistory(Protocol):
    async def seen_before(self, context: Context, incident: Any, *, lookback: timedelta,
                          max_items: int) -> SeenBefore | None:
        """Earlier incidents (not `context.incident_id`) of the same workload or alert fingerprint."""
        ...


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def lookback(text: str) -> timedelta:
    """A skill's memory lookback ("24h", "7d", "30m"); unparsable text means one day."""
    match = _DURATION.match(text)
    return timedelta(**{_UNIT[match.group(2)]: int(match.group(1))}) if match else timedelta(days=1)
