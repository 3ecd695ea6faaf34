"""A diagnosis weighed against incident memory: it carries "seen before", and a fix that did not hold
last time is never proposed again without saying so.

Same target (resource and field) and same value as a merged fix that did not hold: the diagnosis goes
to a person with that reason, so remediation does not plan the same change again. Same field with
another value: the fix stays, and its rationale and the history say what happened last time.
"""

from __future__ import annotations

from typing import Any

from agents.diagnosis import Diagnosis, SuggestedFix
from agents.knowledge.history import PastIncident, SeenBefore


def _same_target(fix: SuggestedFix, old: dict[str, Any]) -> bool:
    resource = old.get("resource") or {}
    return (old.get("field_path") == fix.field_path and resource.get("kind") == fix.resource.kind
            and resource.get("name") == fix.resource.name)


def _failed_before(fix: SuggestedFix, history: SeenBefore) -> tuple[PastIncident, dict[str, Any]] | None:
    for past in history.items:
        if past.held is False:
            for old in past.fixes:
                if _same_target(fix, old):
                    return past, old
    return None


def weigh_history(diagnosis: Diagnosis, history: SeenBefore | None) -> Diagnosis:
    """The diagnosis with its history attached and any repeat of a failed fix called out."""
    if history is None:
        return diagnosis
    fixes: list[SuggestedFix] = []
    notes: list[str] = []
    repeated = False
    for fix in diagnosis.suggested_fixes:
        found = _failed_before(fix, history)
        if found is None:
            fixes.append(fix)
            continue
        past, old = found
        where = f"{past.fix_words} (incident {past.incident_id})"
        if old.get("new_value") == fix.new_value:
            repeated = True
            note = (f"The proposed change {fix.field_path} = {fix.new_value!r} on {fix.resource.kind}/"
                    f"{fix.resource.name} was already merged in {where} and did not hold; it is not proposed "
                    "again without a person")
        else:
            note = (f"{fix.field_path} was already changed to {old.get('new_value')!r} in {where} and that did "
                    f"not hold; this proposes {fix.new_value!r} instead")
        notes.append(note)
        fixes.append(fix.model_copy(update={"rationale": f"{note}. {fix.rationale}"}))
    update: dict[str, Any] = {"history": history.model_copy(update={"repeated_fix": "; ".join(notes) or None}),
                              "suggested_fixes": fixes}
    if repeated:
        reason = notes[0]
        update.update(needs_human=True, reason_for_human=(f"{diagnosis.reason_for_human}; {reason}"
                                                          if diagnosis.needs_human and diagnosis.reason_for_human
                                                          else reason))
    return diagnosis.model_copy(update=update)
