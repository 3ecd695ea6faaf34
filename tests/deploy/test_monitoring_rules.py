"""The kubernetes-mixin rules: the committed render matches the vendored source, promtool accepts them and
their test profile, and the unit tests for the alerts our skills rely on pass (`promtool test rules`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.monitoring.rules import (
    MIXIN_DIR,
    RENDERED_RULES,
    dump_rules,
    load_rules,
    parse_duration,
    render_mixin_rules,
    shorten_expr,
    shortened_rules,
)
from tests.support.prometheus import require_prometheus

TESTS_DIR = RENDERED_RULES.parents[1] / "tests"
RELIED_ON = {"KubePodCrashLooping", "KubePodNotReady", "KubeContainerWaiting", "KubeDeploymentReplicasMismatch",
             "KubeDeploymentRolloutStuck", "KubeJobFailed", "KubeHpaMaxedOut", "KubePersistentVolumeFillingUp",
             "KubeNodeNotReady", "KubeNodeUnreachable", "KubeQuotaExceeded", "CPUThrottlingHigh"}


def _alerts(rules: dict) -> list[dict]:
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


def test_committed_rules_are_a_fresh_render_of_the_vendored_mixin() -> None:
    assert RENDERED_RULES.read_text() == render_mixin_rules(), "run scripts/render-mixin-rules.py"
    provenance = (MIXIN_DIR / "PROVENANCE").read_text()
    assert "kubernetes-monitoring/kubernetes-mixin" in provenance and "Apache-2.0" in provenance
    assert (MIXIN_DIR / "LICENSE").read_text().count("Apache License") >= 1


def test_render_script_check_mode_agrees() -> None:
    root = RENDERED_RULES.parents[3]
    done = subprocess.run([str(root / ".venv" / "bin" / "python"), str(root / "scripts" / "render-mixin-rules.py"),
                           "--check"], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_rendered_rules_hold_every_alert_our_skills_rely_on() -> None:
    names = {r["alert"] for r in _alerts(load_rules())}
    assert names >= RELIED_ON, RELIED_ON - names
    crash = next(r for r in _alerts(load_rules()) if r["alert"] == "KubePodCrashLooping")
    assert crash["for"] == "15m" and "[5m]" in crash["expr"]
    assert crash["annotations"]["runbook_url"].endswith("/kubernetes/kubepodcrashlooping")


def test_the_test_profile_shortens_windows_and_for_mechanically() -> None:
    shipped, profile = _alerts(load_rules()), _alerts(shortened_rules(load_rules()))
    assert [r["alert"] for r in shipped] == [r["alert"] for r in profile]
    for before, after in zip(shipped, profile, strict=True):
        assert after["labels"] == before["labels"] and after["annotations"] == before["annotations"]
        if before.get("for"):
            assert parse_duration(after["for"]) <= max(1, parse_duration(before["for"]) / 180 + 1)
    crash = next(r for r in profile if r["alert"] == "KubePodCrashLooping")
    assert crash["for"] == "5s" and "[30s]" in crash["expr"] and "[5m]" not in crash["expr"]


@pytest.mark.parametrize(("expr", "expected"), [
    ("rate(x[5m]) > 0", "rate(x[30s]) > 0"),
    ("changes(x[10m]) == 0", "changes(x[1m]) == 0"),
    ("max_over_time(x[1h:5m])", "max_over_time(x[6m:30s])"),
    ('x{path="/a[5m]"} and rate(y[15m])', 'x{path="/a[5m]"} and rate(y[1m30s])'),  # strings stay as they are
    ("rate(x[1m])", "rate(x[10s])"),  # the floor keeps a window several scrapes wide
])
def test_shorten_expr(expr: str, expected: str) -> None:
    assert shorten_expr(expr) == expected


def test_promtool_accepts_the_rules_and_their_test_profile(tmp_path: Path) -> None:
    _, promtool = require_prometheus()
    profile = tmp_path / "profile.yaml"
    profile.write_text(dump_rules(shortened_rules(load_rules())))
    for path in (RENDERED_RULES, profile):
        done = subprocess.run([promtool, "check", "rules", str(path)], check=False, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS" in done.stdout


def test_promtool_unit_tests_for_the_alerts_our_skills_rely_on() -> None:
    _, promtool = require_prometheus()
    files = sorted(TESTS_DIR.glob("*.yaml"))
    tested = {line.split("alertname:")[1].strip() for f in files for line in f.read_text().splitlines()
              if "alertname:" in line}
    assert tested >= RELIED_ON, RELIED_ON - tested
    done = subprocess.run([promtool, "test", "rules", *map(str, files)], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(files)


def test_promtool_unit_tests_can_fail(tmp_path: Path) -> None:
    """The unit tests are not vacuous: the same test expecting a wrong label fails."""
    _, promtool = require_prometheus()
    text = (TESTS_DIR / "apps.yaml").read_text().replace("../rules/kubernetes-mixin.yaml", str(RENDERED_RULES))
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("namespace: shop, pod: web-7d9f-abcde", "namespace: shop, pod: another-pod", 1))
    done = subprocess.run([promtool, "test", "rules", str(broken)], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "another-pod" in done.stdout + done.stderr
