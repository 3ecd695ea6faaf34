"""The generalisation suite's generator: reproducible from a seed, at least 300 distinct variants covering
every transform, alerts bound to real pods of the variant's workload, and a re-owned variant that keeps
its fault through the whole service path."""

from __future__ import annotations

import collections
import re

import pytest

from app.eval.runner import eval_loaded
from app.eval.variants import Variant, pods_of, seeded, generate, make_variant
from app.settings import Settings
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
    assert owners == {"owner=StatefulSet", "owner=DaemonSet", "owner=Pod"}


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
