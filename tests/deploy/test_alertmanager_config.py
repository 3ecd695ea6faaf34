"""The shipped Alertmanager configuration is accepted by the real `amtool check-config`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ruamel.yaml import YAML

from tests.support.alertmanager import amtool_binary

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager"


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([amtool_binary(), "check-config", str(path)], check=False, capture_output=True, text=True, timeout=60)


def test_example_config_is_valid() -> None:
    result = check(DEPLOY / "alertmanager.example.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_receiver_snippet_is_valid_once_merged_into_a_root_route(tmp_path: Path) -> None:
    yaml = YAML(typ="safe")
    snippet = yaml.load((DEPLOY / "receiver.yaml").read_text())
    merged = {"route": {"receiver": "default", **snippet["route"]},
              "receivers": [{"name": "default"}, *snippet["receivers"]]}
    path = tmp_path / "merged.yml"
    with path.open("w") as out:
        yaml.dump(merged, out)
    result = check(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("route:\n  receiver: nowhere\nreceivers: []\n")
    assert check(path).returncode != 0
