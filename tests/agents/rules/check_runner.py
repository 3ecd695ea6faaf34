"""Run one table case: the named check over hand-written facts, and what its finding must say."""

from __future__ import annotations

from agents.rules.registry import checks
from tests.agents.rules.builders import Case


def run_case(case: Case) -> None:
    finding = checks()[case.check](case.facts)
    if case.category is None:
        assert finding is None, finding
        return
    assert finding is not None
    assert finding.category == case.category
    if case.subject:
        assert f"{finding.subject.kind}/{finding.subject.name}" == case.subject
    if case.says:
        assert case.says in finding.root_cause, finding.root_cause
    if case.fix:
        assert finding.fixes, "expected a fix"
        assert (finding.fixes[0].field_path, finding.fixes[0].new_value) == case.fix
    assert finding.clues and all(clue.needles for clue in finding.clues)
