"""`alerts[].source: team` needs a reason; the fields never reach the webhook payload."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.eval.payload import webhook_payload
from sim.scenario import ScenarioError, load_scenario, scenario_dir


def _with_alert(tmp_path: Path, alert: str) -> Path:
    text = (scenario_dir() / "service_selector_mismatch.yaml").read_text()
    start = text.index("\nalerts:\n")
    end = text.index("\ngitops:")
    path = tmp_path / "service_selector_mismatch.yaml"
    path.write_text(text[:start] + "\nalerts:\n" + alert + text[end:])
    return path


def test_a_team_alert_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = _with_alert(tmp_path, "  - source: team\n    labels: {alertname: KubeServiceNoEndpoints, namespace: frontend}\n")
    with pytest.raises(ScenarioError, match="source: team needs source_reason"):
        load_scenario(path)


def test_a_reason_without_team_is_refused(tmp_path: Path) -> None:
    path = _with_alert(tmp_path, "  - source_reason: because\n    labels: {alertname: KubePodNotReady}\n")
    with pytest.raises(ScenarioError, match="source_reason is only for source: team"):
        load_scenario(path)


def test_team_fields_stay_out_of_the_payload() -> None:
    scenario = load_scenario(scenario_dir() / "service_selector_mismatch.yaml")
    (alert,) = scenario.alerts
    assert alert.source == "team" and "kube_endpoint_address" in (alert.source_reason or "")
    dumped = alert.model_dump(mode="json")  # what the eval, the demo and `opsgraph diagnose` hand on
    assert "source" not in dumped and "source_reason" not in dumped
    payload = webhook_payload([dumped], cluster="c", cluster_label="cluster")
    assert "kube_endpoint_address" not in str(payload)
