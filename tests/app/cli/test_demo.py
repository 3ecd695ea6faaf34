"""`opsgraph demo --yes` tells the story unattended and exits 0."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.service import service_env


def test_demo_runs_unattended_on_embedded_defaults() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="opsgraph-demo-"))  # not under pytest's basetemp
    try:
        result = subprocess.run([sys.executable, "-m", "app.cli", "demo", "--yes"],
                                env=service_env(OPSGRAPH_DATA_DIR=str(data_dir)),
                                capture_output=True, text=True, timeout=120, check=False)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "simulated cluster 'oom_memory_hog'" in out
    assert f"embedded Postgres in {data_dir}" in out
    assert "CrashLoopBackOff" in out and "memory-hog-" in out
    assert "POST /webhooks/alertmanager (KubePodCrashLooping): incident [1]" in out
    assert "awaiting_approval): oom_killed" in out and "100Mi limit" in out
    assert "slack: Slack is not configured (SLACK_BOT_TOKEN, SLACK_CHANNEL): the card \"[P2] incident 1 awaiting approval: " in out
    assert "with Approve / Reject / Edit / :+1: / :-1: would go to SLACK_CHANNEL" in out
    assert "-              memory: 100Mi  # TODO: sized before the 200M test profile" in out  # the diff, comment kept
    assert "approved -> branch opsgraph/1-oom-killed-memory-hog pushed" in out
    tail = out.split("merged and synced to the cluster")[1]
    assert "1/1  Running" in tail and "CrashLoopBackOff" not in tail
    assert out.rstrip().splitlines()[-1].startswith("demo told in") and "workload healthy" in tail
