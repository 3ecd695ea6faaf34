"""weigh_history: a diagnosis carries its history; a fix that did not hold is not proposed again silently."""

from __future__ import annotations

from typing import Any

import pytest

from agents.diagnosis import Diagnosis, ResourceRef, SuggestedFix
from agents.knowledge.history import PastIncident, SeenBefore, lookback
from agents.knowledge.recall import weigh_history

WEB = ResourceRef(kind="Deployment", namespace="shop", name="web")
FIELD = "spec.template.spec.containers[name=web].resources.limits.memory"


def _diagnosis(value: str = "256Mi") -> Diagnosis:
    return Diagnosis(category="oom_killed", root_cause="limit below the working set", confidence=0.9,
                     affected=[WEB], suggested_fixes=[SuggestedFix(resource=WEB, field_path=FIELD, new_value=value,
                                                                   rationale="Raise the limit.")])


def _past(held: bool | None, value: str = "256Mi", **extra: Any) -> PastIncident:
    fix = {"resource": WEB.model_dump(), "field_path": FIELD, "new_value": value, "rationale": "Raise the limit."}
    return PastIncident(incident_id=41, ended_at="2026-12-03T10:15:00+00:00", category="oom_killed",
                        root_cause="limit below the working set", fixes=[fix], pr_number=12, held=held, **extra)


@pytest.mark.parametrize(("past", "needs_human", "rationale_prefix", "line_end"), [
    (_past(False), True, "The proposed change " + FIELD + " = '256Mi' on Deployment/web was already merged in PR #12 "
     "(incident 41) and did not hold; it is not proposed again without a person",
     "last fix PR #12 did not hold. The proposed change"),
    (_past(False, "192Mi"), False, FIELD + " was already changed to '192Mi' in PR #12 (incident 41) and that did not "
     "hold; this proposes '256Mi' instead", "last fix PR #12 did not hold. " + FIELD),
    (_past(True), False, "Raise the limit.", "last fix PR #12 held"),
    (_past(None), False, "Raise the limit.", "last fix PR #12 outcome unknown"),
    (_past(None).model_copy(update={"pr_number": None, "outcome": "all alerts resolved"}), False, "Raise the limit.",
     "; no fix was verified (all alerts resolved)"),
], ids=["same fix failed", "other value failed", "held", "unknown", "no fix"])
def test_history_is_attached_and_a_failed_fix_is_called_out(past: PastIncident, needs_human: bool,
                                                            rationale_prefix: str, line_end: str) -> None:
    weighed = weigh_history(_diagnosis(), SeenBefore(times=1, items=[past]))
    assert weighed.history is not None
    assert weighed.needs_human is needs_human
    assert weighed.suggested_fixes[0].rationale.startswith(rationale_prefix)
    line = weighed.history.line()
    assert line.startswith("seen before: 1 time (last: incident 41, oom_killed, ended 2026-12-03 10:15)")
    assert line_end in line


def test_no_history_changes_nothing_and_an_earlier_failure_is_still_named() -> None:
    assert weigh_history(_diagnosis(), None) == _diagnosis()
    older_failure = _past(False).model_copy(update={"incident_id": 30, "pr_number": 9})
    history = SeenBefore(times=3, items=[_past(True), older_failure])
    assert history.line().endswith("last fix PR #12 held; PR #9 (incident 30) did not hold")


@pytest.mark.parametrize(("text", "hours"), [("24h", 24), ("7d", 168), ("30m", 0.5), ("2w", 336), ("soon", 24)])
def test_lookback_reads_the_skill_memory_policy(text: str, hours: float) -> None:
    assert lookback(text).total_seconds() == hours * 3600
