"""Scenario files: every shipped one validates; malformed ones fail naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from agents.taxonomy import CATEGORIES  # the conformance check: sim keeps categories as plain text
from sim.quantity import QuantityError, parse_quantity, parse_size, to_bytes, to_millicores
from sim.scenario import ScenarioError, find_scenario, load_scenario, shipped_scenarios
from sim.scenario.schema import parse_duration

SHIPPED = shipped_scenarios()


def test_the_required_scenarios_ship() -> None:
    names = {p.stem for p in SHIPPED}
    assert {"oom_memory_hog", "crashloop_missing_env", "image_pull_bad_tag", "pending_insufficient_memory",
            "service_selector_mismatch", "healthy_baseline", "nodeselector_no_matching_node",
            "pvc_storageclass_not_found", "liveness_probe_wrong_port", "node_not_ready", "init_container_crashloop",
            "private_registry_pull_secret_missing", "service_targetport_mismatch", "rollout_stuck_bad_release",
            "job_backoff_limit_exceeded", "hpa_missing_cpu_requests", "run_as_nonroot_image_root",
            "ingress_tls_secret_missing", "oomkilled_limit_too_low"} <= names
    assert len(names) >= 23


def test_shipped_scenarios_cover_every_category_the_skills_need() -> None:
    loaded = [load_scenario(p) for p in SHIPPED]
    categories = {s.expect.category for s in loaded}
    assert {"oom_killed", "crash_loop_app_error", "missing_config", "invalid_config", "image_pull", "unschedulable",
            "service_unreachable", "storage", "node_failure", "probe_failure", "certificate", "job_failed", "quota",
            "autoscaling", "security_context", "bad_command", "healthy"} <= categories
    escalations = [s.name for s in loaded if s.expect.escalate]
    assert "node_not_ready" in escalations


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_validates(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.expect.category in CATEGORIES
    assert scenario.description.strip()
    if scenario.expect.healthy:
        assert not scenario.alerts
    else:
        assert scenario.alerts, "a fault scenario names the alert that fires"
        assert scenario.expect.fix is not None or scenario.expect.escalate
    if scenario.expect.fix is not None:
        assert scenario.expect.fix.file in scenario.gitops.files
        assert scenario.expect.fix.patch is not None or scenario.expect.fix.create
    for file, text in scenario.gitops.files.items():
        docs = [d for d in YAML(typ="rt").load_all(text) if d is not None]
        assert docs, f"{file} holds no YAML document"
    assert find_scenario(path.stem) == path


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


MINIMAL = """
name: bad
description: a scenario
expect: {category: healthy, healthy: true}
"""

BROKEN = [
    ("bad_yaml", "name: bad\ndescription: [unclosed\n", "invalid YAML at line"),
    ("not_a_mapping", "- just\n- a list\n", "a scenario must be a YAML mapping"),
    ("unknown_top_field", MINIMAL + "nodez: []\n", "nodez: unknown field"),
    ("unknown_nested_field", MINIMAL + "world: {images: {nginx: {tagz: [1]}}}\n", "world.images.nginx.tagz: unknown field"),
    ("bad_category", "name: bad\ndescription: d\nexpect: {category: OOM Killed, resource: {kind: Pod, name: x}}\n",
     "expect.category: 'OOM Killed' is not a category name"),
    ("missing_description", "name: bad\nexpect: {category: healthy, healthy: true}\n", "description: field required"),
    ("missing_expect", "name: bad\ndescription: d\n", "expect: field required"),
    ("fault_without_resource", "name: bad\ndescription: d\nexpect: {category: oom_killed}\n",
     "expect: resource is required unless the scenario is healthy"),
    ("bad_world_quantity", MINIMAL + "world: {containers: [{container: a, memory: 2X}]}\n",
     "world.containers[0].memory: invalid quantity '2X'"),
    ("bad_node_quantity", MINIMAL + "nodes: [{name: n1, allocatable: {memory: lots}}]\n",
     "nodes[0].allocatable.memory: invalid quantity 'lots'"),
    ("bad_duration", MINIMAL.replace("expect", "world: {fault_age: soon}\nexpect"), "world.fault_age: invalid duration 'soon'"),
    ("bad_manifest_quantity", MINIMAL + """objects:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      template:
        spec:
          containers: [{name: web, image: nginx, resources: {limits: {memory: 100MB}}}]
""", "objects[0].spec.template.spec.containers[0].resources.limits.memory: invalid quantity '100MB'"),
    ("manifest_without_kind", MINIMAL + "objects: [{apiVersion: v1, metadata: {name: x}}]\n", "objects[0].kind: field required"),
    ("manifest_with_status", MINIMAL + "objects: [{apiVersion: v1, kind: Pod, metadata: {name: x}, status: {phase: Running}}]\n",
     "objects[0].status: objects are spec only; put hand-written status in overrides.status"),
    ("fix_file_not_in_gitops", """
name: bad
description: d
gitops: {files: {a.yaml: "kind: X"}}
expect:
  category: oom_killed
  resource: {kind: Deployment, name: x}
  fix: {file: b.yaml}
""", "expect.fix.file: 'b.yaml' is not a file of gitops.files"),
    ("alert_without_alertname", MINIMAL + "alerts: [{labels: {severity: warning}}]\n", "alerts[0].labels: an alert needs labels.alertname"),
]


@pytest.mark.parametrize(("text", "message"), [(t, m) for _, t, m in BROKEN], ids=[i for i, _, _ in BROKEN])
def test_malformed_scenario_is_rejected_naming_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_minimal_scenario_gets_three_default_workers(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, MINIMAL))
    assert [n.name for n in scenario.nodes] == ["worker-1", "worker-2", "worker-3"]
    assert scenario.nodes[0].allocatable.cpu == "4" and scenario.nodes[0].allocatable.memory == "8Gi"
    assert scenario.world.fault_age == 1800


def test_unknown_scenario_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match="no such scenario file or shipped scenario .*oom_memory_hog"):
        find_scenario("no_such_fault")


@pytest.mark.parametrize(
    ("text", "value"),
    [("100Mi", 104857600), ("200M", 200_000_000), ("1Gi", 2**30), ("500m", 0.5), ("1.5", 1.5), ("2e3", 2000),
     ("128974848", 128974848), ("1k", 1000), ("1Ki", 1024), (".5", 0.5)],
)
def test_quantity_parsing(text: str, value: float) -> None:
    assert float(parse_quantity(text)) == value


@pytest.mark.parametrize("text", ["2X", "100MB", "Mi", "", "1.2.3", "-", "1 Gi"])
def test_invalid_quantity(text: str) -> None:
    with pytest.raises(QuantityError, match="invalid quantity"):
        parse_quantity(text)


def test_quantity_units() -> None:
    assert to_millicores("250m") == 250 and to_millicores("0.1") == 100 and to_millicores(2) == 2000
    assert to_bytes("100Mi") == 104857600
    assert parse_size("200M") == 200 * 2**20 and parse_size("1g") == 2**30 and parse_size("512k") == 512 * 1024
    assert parse_duration("1h30m") == 5400 and parse_duration("90s") == 90 and parse_duration(15) == 15
