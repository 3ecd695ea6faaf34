"""The incident lifecycle and its legal transitions.

open → diagnosing → awaiting_approval / awaiting_human → remediating → verifying → resolved / reopened.
remediating: a pull request is open. verifying: it was merged and the workload is being watched;
healthy ends as resolved, still failing as reopened (a live incident awaiting a person, with a
proposed revert on its timeline). Any live incident may end as resolved (its alerts cleared),
failed or cancelled; an ended one never comes back: a new alert for the workload opens a new incident.
"""

from __future__ import annotations

from enum import StrEnum

from app.incidents.errors import IllegalTransition


class IncidentStatus(StrEnum):
    OPEN = "open"
    DIAGNOSING = "diagnosing"
    AWAITING_APPROVAL = "awaiting_approval"
    AWAITING_HUMAN = "awaiting_human"
    REMEDIATING = "remediating"
    VERIFYING = "verifying"
    REOPENED = "reopened"
    RESOLVED = "resolved"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = IncidentStatus
TERMINAL = frozenset({S.RESOLVED, S.FAILED, S.CANCELLED})
_ENDINGS = TERMINAL

TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    S.OPEN: frozenset({S.DIAGNOSING}) | _ENDINGS,
    # awaiting_human → diagnosing: a human answered and the diagnosis continues.
    S.DIAGNOSING: frozenset({S.AWAITING_APPROVAL, S.AWAITING_HUMAN, S.REMEDIATING}) | _ENDINGS,
    S.AWAITING_APPROVAL: frozenset({S.REMEDIATING, S.AWAITING_HUMAN, S.DIAGNOSING}) | _ENDINGS,
    # awaiting_human → verifying: a pull request closed unmerged was reopened and merged after all.
    S.AWAITING_HUMAN: frozenset({S.DIAGNOSING, S.AWAITING_APPROVAL, S.REMEDIATING, S.VERIFYING}) | _ENDINGS,
    # remediating → awaiting_human: the pull request was closed without merging.
    S.REMEDIATING: frozenset({S.AWAITING_HUMAN, S.VERIFYING}) | _ENDINGS,
    S.VERIFYING: frozenset({S.REOPENED}) | _ENDINGS,
    # reopened waits for a person like awaiting_human, who may diagnose again, plan or revert.
    S.REOPENED: frozenset({S.DIAGNOSING, S.AWAITING_APPROVAL, S.AWAITING_HUMAN, S.REMEDIATING}) | _ENDINGS,
    S.RESOLVED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}


def check_transition(incident_id: int, current: str, new: str) -> None:
    """Raise IllegalTransition unless `current → new` is allowed (a live incident may stay put; an ended one
    cannot move at all, so a second cancel is refused rather than silently repeated)."""
    old, target = IncidentStatus(current), IncidentStatus(new)
    if old in TERMINAL or (old != target and target not in TRANSITIONS[old]):
        raise IllegalTransition(incident_id, old, target)
