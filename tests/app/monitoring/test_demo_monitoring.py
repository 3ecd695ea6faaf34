"""`opsgraph demo --monitoring --yes`: the alert is born in Prometheus, routed by Alertmanager, resolved after
the fix merges."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.prometheus import require_pipeline
from tests.support.service import service_env


def test_demo_with_real_monitoring() -> None:
    require_pipeline()
    data_dir = Path(tempfile.mkdtemp(prefix="opsgraph-demo-"))  # not under pytest's basetemp
    try:
        result = subprocess.run([sys.executable, "-m", "app.cli", "demo", "--monitoring", "--yes"],
                                env=service_env(OPSGRAPH_DATA_DIR=str(data_dir)),
                                capture_output=True, text=True, timeout=300, check=False)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "(kubernetes-mixin rules, test profile), Alertmanager at http://127.0.0.1:" in out
    fired = next(line for line in out.splitlines() if line.startswith("Prometheus fired "))
    assert "KubePodCrashLooping" in fired and "Alertmanager -> POST /webhooks/alertmanager: incident(s) [1]" in fired
    assert "awaiting_approval): oom_killed" in out
    tail = out.split("merged and synced to the cluster")[1]
    assert "workload healthy" in tail
    assert "Alertmanager -> resolved notification: every alert of the incident resolved" in tail
