"""The rule engine against every shipped scenario (a new scenario is covered with no new test code), and
against renamed copies of them, which proves the skills key on the fault class and not on the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.diagnosis import ResourceRef, check_evidence
from agents.skills.loader import SkillSet, load_skills
from sim.scenario import load_scenario, shipped_scenarios
from tests.agents.rules.scenario_support import Outcome, diagnose, renamed_copy

SCENARIOS = shipped_scenarios()
TIME_BUDGET_SECONDS = 2.0


@pytest.fixture(scope="module")
def skills() -> SkillSet:
    return load_skills()


def _assert_matches_expectation(outcome: Outcome, path: Path, scenario_expect) -> None:  # type: ignore[no-untyped-def]
    diagnosis, expect = outcome.diagnosis, scenario_expect
    assert diagnosis.category == expect.category, diagnosis.root_cause
    assert check_evidence(diagnosis, outcome.calls) == []
    if expect.healthy:
        assert diagnosis.needs_human is False
        assert diagnosis.affected == []
        return
    wanted = ResourceRef(kind=expect.resource.kind, namespace=expect.resource.namespace, name=expect.resource.name)
    assert diagnosis.affected[0] == wanted, [str(a) for a in diagnosis.affected]
    assert diagnosis.evidence, "a finding must quote the tool output it rests on"
    assert diagnosis.root_cause
    if expect.escalate:
        assert diagnosis.needs_human and diagnosis.reason_for_human
        assert not any(fix.resource.kind in ("Deployment", "StatefulSet", "DaemonSet") for fix in diagnosis.suggested_fixes)
    else:
        assert diagnosis.suggested_fixes or diagnosis.needs_human


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
async def test_engine_diagnoses_shipped_scenario(path: Path, skills: SkillSet) -> None:
    scenario = load_scenario(path)
    outcome = await diagnose(scenario, skills)
    _assert_matches_expectation(outcome, path, scenario.expect)
    assert outcome.seconds < TIME_BUDGET_SECONDS
    assert outcome.diagnosis.source == "rules"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
async def test_engine_diagnoses_renamed_copy(path: Path, skills: SkillSet, tmp_path: Path) -> None:
    scenario = renamed_copy(path, tmp_path)
    original = load_scenario(path)
    if original.expect.resource is not None and original.expect.resource.name not in ("default",):
        assert scenario.expect.resource.name != original.expect.resource.name, "the copy must rename the workload"
    outcome = await diagnose(scenario, skills, live_pod_labels=True)
    _assert_matches_expectation(outcome, path, scenario.expect)


async def test_alert_naming_a_pod_that_is_gone_still_finds_the_workload(skills: SkillSet, tmp_path: Path) -> None:
    """The pod in the alert was replaced (renamed copy without fixing the labels): look at the namespace."""
    scenario = renamed_copy(next(p for p in SCENARIOS if p.stem == "oom_memory_hog"), tmp_path)
    outcome = await diagnose(scenario, skills)
    assert outcome.diagnosis.category == "oom_killed"
    assert outcome.diagnosis.affected[0].kind == "Deployment"
    assert any("describe_pod" in error for error in outcome.diagnosis.errors)
