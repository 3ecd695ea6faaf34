"""The generalisation suite's generator: reproducible from a seed, at least 300 distinct variants covering
every transform, alerts bound to real pods of the variant's workload, and a re-owned variant that keeps
its fault through the whole service path."""

from __future__ import annotations

import collections
import re

import pytest

from app.eval.runner import alert_scopes, eval_loaded, observe_after_sync
from app.eval.symptoms import CONDITIONS, Scope, alert_scope
from app.eval.variants import Variant, pods_of, seeded, generate, make_variant
from app.settings import Settings
from sim.health import warning_counts
from sim.patching import strategic_merge_patch
from sim.scenario import find_scenario, load_scenario, shipped_scenarios


@pytest.fixture(scope="module")
def suite() -> list[Variant]:
    return generate(300, seed=7)


def test_three_hundred_distinct_variants_cover_every_transform(suite: list[Variant]) -> None:
    assert len(suite) == 300 and len({v.name for v in suite}) == 300
    faults = {p.stem for p in shipped_scenarios() if load_scenario(p).alerts}
    assert {v.source for v in suite} == faults
    kinds = collections.Counter(t.split("=")[0] for v in suite for t in v.transforms)
    assert {"rename", "owner", "sidecar", "init", "alert", "noise", "overlay"} <= set(kinds)
    owners = {t for v in suite for t in v.transforms if t.startswith("owner=")}
    every = {"owner=StatefulSet", "owner=DaemonSet", "owner=Pod", "owner=Job", "owner=CronJob"}
    # Owners are drawn at random per variant; the batch owners also have tests of their own below.
    assert owners <= every and len(owners) >= 4, owners


def test_the_same_seed_gives_the_same_suite_and_another_seed_another() -> None:
    one, again, other = generate(20, seed=3), generate(20, seed=3), generate(20, seed=4)
    dump = [v.scenario.model_dump(mode="json") for v in one]
    assert dump == [v.scenario.model_dump(mode="json") for v in again]
    assert dump != [v.scenario.model_dump(mode="json") for v in other]


def test_names_change_everywhere_and_alerts_name_real_pods_of_the_workload(suite: list[Variant]) -> None:
    for variant in suite[:60]:
        source = load_scenario(find_scenario(variant.source))
        scenario = variant.scenario
        ref, original = scenario.expect.resource, source.expect.resource
        assert ref is not None and original is not None
        if len(original.name) >= 3 and original.name not in ("default",):
            assert ref.name != original.name, variant.name
            text = scenario.model_dump_json()
            assert not re.search(rf'(?<![\w-]){re.escape(original.name)}(?![\w-])', text), variant.name
        pod_alerts = [a for a in scenario.alerts if a.labels.get("pod")]
        if pod_alerts and ref.kind in ("Deployment", "StatefulSet", "DaemonSet", "Pod"):
            store = seeded(scenario)
            pods = {p["metadata"]["name"] for fault in [scenario.expect, *scenario.more_faults]
                    for p in pods_of(store, scenario.model_copy(update={"expect": fault}))}
            assert all(a.labels["pod"] in pods for a in pod_alerts), (variant.name, pods)


def test_a_reowned_variant_keeps_the_fault_in_its_repository_and_cluster() -> None:
    source = load_scenario(find_scenario("oom_memory_hog"))
    variant = next(v for i in range(40) if (v := make_variant(source, i, seed=11)) is not None
                   and any(t.startswith("owner=StatefulSet") for t in v.transforms))
    scenario = variant.scenario
    assert scenario.expect.resource is not None and scenario.expect.resource.kind == "StatefulSet"
    assert any("kind: StatefulSet" in text for text in scenario.gitops.files.values())
    assert not any("kind: Deployment" in text for text in scenario.gitops.files.values())
    store = seeded(scenario)
    [pod] = pods_of(store, scenario)
    assert pod["metadata"]["name"].endswith("-0")
    terminated = pod["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert terminated["reason"] == "OOMKilled"


async def test_a_variant_runs_through_the_service_under_the_strict_verdict(settings: Settings) -> None:
    source = load_scenario(find_scenario("crashloop_missing_env"))
    variant = next(v for i in range(40) if (v := make_variant(source, i, seed=2)) is not None
                   and {"sidecar", "overlay"} <= set(v.transforms))
    row = await eval_loaded(variant.scenario, settings, label=variant.name)
    assert row.ok, (row.reasons, row.error)
    assert row.fix == "ok" and row.details["pull_requests"]


def _batch_variant(source: str, owner: str, seed: int = 11) -> Variant:
    scenario = load_scenario(find_scenario(source))
    return next(v for i in range(80) if (v := make_variant(scenario, i, seed=seed)) is not None
                and f"owner={owner}" in v.transforms)


@pytest.mark.parametrize("owner", ["Job", "CronJob"])
def test_a_batch_owner_fails_as_a_job_does_and_its_alert_holds(owner: str) -> None:
    variant = _batch_variant("crashloop_command_not_found", owner)
    scenario = variant.scenario
    ref = scenario.expect.resource
    assert ref is not None and ref.kind == owner
    path = "spec.jobTemplate.spec.template.spec" if owner == "CronJob" else "spec.template.spec"
    assert scenario.expect.fix is None or str(scenario.expect.fix.field).startswith(path)
    store = seeded(scenario)
    pods = pods_of(store, scenario)
    # restartPolicy Never: each attempt is a new pod that stays terminated (no CrashLoopBackOff), and the
    # Job gives up after its backoffLimit.
    assert len(pods) == 4 and all(p["status"]["phase"] == "Failed" for p in pods)
    states = [s["state"] for p in pods for s in p["status"]["containerStatuses"]]
    assert all("terminated" in state and state["terminated"]["reason"] == "StartError" for state in states)
    jobs = [j for j in store.list("Job", ref.namespace) if j["status"].get("failed")]
    assert jobs and any(c["type"] == "Failed" for c in jobs[0]["status"]["conditions"])
    for alert in scenario.alerts:  # every alert a real Prometheus could fire on this state
        condition = CONDITIONS[alert.labels["alertname"]]
        assert condition(store, alert_scope(store, dict(alert.labels), Scope(ref.namespace, ref.kind, ref.name)))
    if owner == "CronJob":
        assert all(a.labels.get("job_name", jobs[0]["metadata"]["name"]) == jobs[0]["metadata"]["name"]
                   for a in scenario.alerts)


def test_a_cronjob_fix_is_judged_by_its_next_run_and_a_no_op_is_not_one() -> None:
    from sim.runtime import start_sim

    variant = _batch_variant("oom_memory_hog", "CronJob")
    scenario = variant.scenario
    fix = scenario.expect.fix
    assert fix is not None and fix.patch is not None
    with start_sim(scenario) as sim:
        scopes = alert_scopes(sim, scenario)
        # Nothing synced: the next run fails as the last one did.
        symptoms, _ = observe_after_sync(sim, scenario, scopes, warning_counts(sim.store))
        assert symptoms
    with start_sim(scenario) as sim:
        scopes = alert_scopes(sim, scenario)
        cronjob = sim.store.get("CronJob", scenario.expect.resource.namespace, scenario.expect.resource.name)
        fixed = strategic_merge_patch(cronjob, fix.patch)
        before = warning_counts(sim.store)
        assert sim.sync([fixed]).ok
        symptoms, problems = observe_after_sync(sim, scenario, scopes, before)
        assert not symptoms and not problems, (symptoms, problems)
        manual = [j for j in sim.store.list("Job", scenario.expect.resource.namespace) if "-manual-" in j["metadata"]["name"]]
        assert len(manual) == 1
        assert manual[0]["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
