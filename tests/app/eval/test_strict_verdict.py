"""The strict verdict cannot be fooled: a wrong diagnosis, a no-op pull request, one that edits an immutable
field, one that leaves the symptom, and one where a person was expected each fail; the scenario's own fix
passes. Pull requests are real branches in a real bare repository, synced to a real simulated cluster the
way a GitOps controller applies them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.eval.runner import alert_scopes, pull_request_outcome
from app.eval.verdict import PullRequestOutcome, judge, judge_diagnosis
from sim.runtime import start_sim
from sim.scenario import Scenario, find_scenario, load_scenario
from tests.support.gitops import push_from_elsewhere, seed_bare_repo


def _scenario(name: str) -> Scenario:
    return load_scenario(find_scenario(name))


def _right_diagnosis(scenario: Scenario, **changes: Any) -> dict[str, Any]:
    expect = scenario.expect
    assert expect.resource is not None
    diagnosis: dict[str, Any] = {
        "category": expect.category, "root_cause": expect.root_cause or "", "confidence": 0.9,
        "evidence": [{"call_id": "c1", "tool": "describe_pod", "excerpt": "x"}],
        "affected": [expect.resource.model_dump()], "suggested_fixes": [], "needs_human": False,
    }
    diagnosis.update(changes)
    return diagnosis


async def _outcome(tmp_path: Path, scenario: Scenario, files: dict[str, str]) -> PullRequestOutcome:
    """Push `files` as a pull request branch, then merge and sync it as the evaluator does."""
    remote = seed_bare_repo(scenario.gitops.files, tmp_path / "gitops.git")
    push_from_elsewhere(remote, "opsgraph/1-fix", files, tmp_path / "author", "a proposed fix")
    with start_sim(scenario) as sim:
        scopes = alert_scopes(sim, scenario)
        incident = {"id": 1, "pr": {"branch": "opsgraph/1-fix", "base": "main"}}
        return await pull_request_outcome(sim, scenario, incident, tmp_path, scopes)


def _file_with(scenario: Scenario, needle: str) -> str:
    return next(path for path, text in scenario.gitops.files.items() if needle in text)


def test_a_right_category_and_resource_with_no_claimed_cause_fails() -> None:
    scenario = _scenario("oom_memory_hog")
    assert judge_diagnosis(scenario, _right_diagnosis(scenario))[:3] == (True, True, True)
    category_ok, resource_ok, cause_ok, reasons = judge_diagnosis(scenario, _right_diagnosis(scenario, confidence=0.05))
    assert (category_ok, resource_ok, cause_ok) == (True, True, False)
    assert "no cause is claimed" in reasons[0]
    assert not judge_diagnosis(scenario, _right_diagnosis(scenario, evidence=[]))[2]


def test_a_diagnosis_that_misses_the_object_holding_the_cause_fails() -> None:
    scenario = _scenario("init_container_crashloop")  # the cause is in ConfigMap recommender-config
    wrong = _right_diagnosis(scenario, root_cause="init container render-config exits 1")
    _, _, cause_ok, reasons = judge_diagnosis(scenario, wrong)
    assert not cause_ok and "ConfigMap/personalization/recommender-config" in reasons[0]
    right = _right_diagnosis(scenario, root_cause="ConfigMap recommender-config key config.json is not valid JSON")
    assert judge_diagnosis(scenario, right)[2]


def test_a_wrong_category_fails_the_row_even_with_a_healthy_fix() -> None:
    scenario = _scenario("oom_memory_hog")
    incident = {"id": 1, "status": "remediating", "diagnosis": _right_diagnosis(scenario, category="crash_loop_app_error")}
    verdict = judge(scenario, [incident], [PullRequestOutcome(1, "b", changed={"Deployment/default/memory-hog": ["x"]})])
    assert not verdict.ok and not verdict.diagnosis_ok and verdict.fix == "ok"


async def test_the_scenarios_own_fix_passes(tmp_path: Path) -> None:
    scenario = _scenario("oom_memory_hog")
    path = _file_with(scenario, "memory: 100Mi")
    fixed = scenario.gitops.files[path].replace("memory: 100Mi", "memory: 320Mi")
    outcome = await _outcome(tmp_path, scenario, {path: fixed})
    assert list(outcome.changed) == ["Deployment/default/memory-hog"]
    assert outcome.refused == outcome.symptoms == outcome.problems == []
    incident = {"id": 1, "status": "remediating", "diagnosis": _right_diagnosis(scenario)}
    assert judge(scenario, [incident], [outcome]).ok


async def test_a_no_op_pull_request_fails(tmp_path: Path) -> None:
    scenario = _scenario("oom_memory_hog")
    path = _file_with(scenario, "memory: 100Mi")
    outcome = await _outcome(tmp_path, scenario, {path: scenario.gitops.files[path] + "# reviewed\n"})
    verdict = judge(scenario, [{"id": 1, "status": "remediating", "diagnosis": _right_diagnosis(scenario)}], [outcome])
    assert verdict.fix == "FAIL" and not verdict.ok
    assert any("no-op" in reason for reason in verdict.reasons)


async def test_a_fix_that_leaves_the_alerts_condition_true_fails(tmp_path: Path) -> None:
    scenario = _scenario("oom_memory_hog")  # stress allocates 200M: 150Mi is still too little
    path = _file_with(scenario, "memory: 100Mi")
    outcome = await _outcome(tmp_path, scenario, {path: scenario.gitops.files[path].replace("memory: 100Mi", "memory: 150Mi")})
    assert any(s.startswith("KubePodCrashLooping: pod memory-hog-") for s in outcome.symptoms)
    verdict = judge(scenario, [{"id": 1, "status": "remediating", "diagnosis": _right_diagnosis(scenario)}], [outcome])
    assert verdict.fix == "FAIL"


@pytest.mark.parametrize("replace", [False, True], ids=["plain", "asks-to-be-replaced"])
async def test_an_immutable_field_is_refused_at_sync_unless_the_object_is_replaced(tmp_path: Path, replace: bool) -> None:
    scenario = _scenario("pvc_storageclass_not_found")
    path = _file_with(scenario, "storageClassName: fast-ssd")
    text = scenario.gitops.files[path].replace("storageClassName: fast-ssd", "storageClassName: standard")
    if replace:
        text = text.replace("  name: homepage-pvc\n", "  name: homepage-pvc\n  annotations:\n"
                            "    argocd.argoproj.io/sync-options: Force=true,Replace=true\n", 1)
    outcome = await _outcome(tmp_path, scenario, {path: text})
    verdict = judge(scenario, [{"id": 1, "status": "remediating", "diagnosis": _right_diagnosis(scenario)}], [outcome])
    if replace:
        assert outcome.refused == [] and verdict.fix == "ok", verdict.reasons
    else:
        assert "field is immutable" in " ".join(outcome.refused) or "spec is immutable" in " ".join(outcome.refused)
        assert verdict.fix == "FAIL" and any("sync refused" in r for r in verdict.reasons)


async def test_an_invalid_object_is_refused_at_sync(tmp_path: Path) -> None:
    scenario = _scenario("oom_memory_hog")
    path = _file_with(scenario, "memory: 100Mi")
    lines = scenario.gitops.files[path].replace("memory: 100Mi", "memory: 320Mi").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("image:"))
    indent = lines[at][:len(lines[at]) - len(lines[at].lstrip())]
    lines[at] += f"{indent}bogusField: 1\n"  # a container field the schema does not have
    outcome = await _outcome(tmp_path, scenario, {path: "".join(lines)})
    assert outcome.refused and "bogusField" in outcome.refused[0]


async def test_a_file_that_no_longer_parses_is_refused_not_pruned(tmp_path: Path) -> None:
    scenario = _scenario("oom_memory_hog")
    path = _file_with(scenario, "memory: 100Mi")
    outcome = await _outcome(tmp_path, scenario, {path: scenario.gitops.files[path].replace(
        "memory: 100Mi", "memory: [320Mi")})
    assert outcome.refused and path in outcome.refused[0] and outcome.removed == []


async def test_a_pull_request_where_a_person_was_expected_fails(tmp_path: Path) -> None:
    scenario = _scenario("run_as_nonroot_image_root")
    assert scenario.expect.escalate
    path = _file_with(scenario, "runAsNonRoot: true")
    outcome = await _outcome(tmp_path, scenario, {path: scenario.gitops.files[path].replace(
        "runAsNonRoot: true", "runAsNonRoot: true\n            runAsUser: 10001")})
    handed = _right_diagnosis(scenario, needs_human=True, reason_for_human="the UID is in the image")
    assert judge(scenario, [{"id": 1, "status": "awaiting_human", "diagnosis": handed}], []).ok
    verdict = judge(scenario, [{"id": 1, "status": "remediating", "diagnosis": _right_diagnosis(scenario)}], [outcome])
    assert not verdict.ok and not verdict.escalation_ok
    assert any("expected a hand-over" in r for r in verdict.reasons)


def test_a_second_pull_request_for_the_same_fault_fails() -> None:
    scenario = _scenario("oom_memory_hog")
    one = PullRequestOutcome(1, "opsgraph/1-a", changed={"Deployment/default/memory-hog": [
        "spec.template.spec.containers[memory-hog].resources.limits.memory"]})
    two = PullRequestOutcome(2, "opsgraph/2-a", changed=dict(one.changed))
    incidents = [{"id": i, "status": "remediating", "diagnosis": _right_diagnosis(scenario)} for i in (1, 2)]
    assert judge(scenario, incidents[:1], [one]).ok
    verdict = judge(scenario, incidents, [one, two])
    assert not verdict.ok and any("2 pull requests for one fault" in r for r in verdict.reasons)


def test_with_two_faults_each_needs_its_own_right_incident() -> None:
    scenario = _scenario("two_faults_one_namespace")
    second = scenario.more_faults[0]
    assert second.resource is not None and scenario.expect.resource is not None
    oom = {"id": 1, "status": "remediating", "diagnosis": _right_diagnosis(scenario)}
    pull = {"id": 2, "status": "remediating", "diagnosis": {
        **_right_diagnosis(scenario), "category": second.category, "affected": [second.resource.model_dump()]}}
    outcomes = [PullRequestOutcome(1, "opsgraph/1", changed={"Deployment/analytics/report-builder": [
                    "spec.template.spec.containers[builder].resources.limits.memory"]}),
                PullRequestOutcome(2, "opsgraph/2", changed={"Deployment/analytics/query-gateway": [
                    "spec.template.spec.containers[gateway].image"]})]
    assert judge(scenario, [oom, pull], outcomes).ok
    only_one = judge(scenario, [oom], outcomes[:1])
    assert not only_one.ok and any("query-gateway: no diagnosis recorded" in r for r in only_one.reasons)
    blamed = {**pull, "diagnosis": {**pull["diagnosis"], "affected": [{"kind": "Deployment", "namespace": "analytics",
                                                                       "name": "other"}]}}
    assert not judge(scenario, [oom, blamed], outcomes).ok
