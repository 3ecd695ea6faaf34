"""A check that raises or a cluster that cannot be reached adds an error; the run still ends in a Diagnosis."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.context import ClusterRef, Context
from agents.diagnosis import IncidentInput
from agents.rules import registry
from agents.rules.engine import run_rules
from agents.rules.facts import Facts
from agents.skills.loader import SkillSet, load_skills
from agents.toolsets import ToolExecutor, default_registry
from sim.scenario import find_scenario, load_scenario
from sim.scenario.schema import Alert
from tests.agents.rules.scenario_support import diagnose


@pytest.fixture(scope="module")
def skills() -> SkillSet:
    return load_skills()


async def test_a_broken_check_is_an_error_not_a_crash(skills: SkillSet, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(facts: Facts) -> None:
        raise KeyError("status")

    monkeypatch.setitem(registry._CHECKS, "oom_killed", broken)
    outcome = await diagnose(load_scenario(find_scenario("crashloop_command_not_found")), skills)
    assert outcome.diagnosis.category == "bad_command"  # the checks after the broken one still ran
    assert "check oom_killed failed: KeyError: 'status'" in outcome.diagnosis.errors


async def test_unreachable_cluster_is_a_failed_diagnosis_for_a_human(skills: SkillSet, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n")
    context = Context(incident_id="t", cluster=ClusterRef(id="down", kubeconfig=kubeconfig))
    executor = ToolExecutor(default_registry(), context, agent="rules", allowed=skills.tools())
    incident = IncidentInput(namespace="shop", alerts=[{"labels": {"alertname": "KubePodCrashLooping", "namespace": "shop",
                                                                   "pod": "web-1", "container": "web"}}])
    diagnosis = await run_rules(incident, executor, skills)
    assert diagnosis.needs_human is True
    assert diagnosis.status == "failed"
    assert "unreachable" in (diagnosis.failure_reason or "")
    assert diagnosis.errors and diagnosis.confidence < 0.5


async def test_unknown_alert_on_a_healthy_namespace_asks_a_human(skills: SkillSet) -> None:
    scenario = load_scenario(find_scenario("healthy_baseline"))
    scenario = scenario.model_copy(update={"alerts": [Alert(labels={"alertname": "CheckoutLatencyHigh", "namespace": "shop"})]})
    outcome = await diagnose(scenario, skills)
    assert outcome.diagnosis.needs_human is True
    assert "CheckoutLatencyHigh" in outcome.diagnosis.root_cause
    assert outcome.diagnosis.confidence <= 0.3
