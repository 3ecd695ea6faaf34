"""`opsgraph demo --yes` tells the story unattended and exits 0."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from app.db.embedded import EmbeddedPostgres
from tests.support.service import service_env


def _incidents_by_database(data_dir: Path) -> dict[str, list[tuple[int, str]] | None]:
    """Each database's incidents (None: it has no incidents table), read from the demo's embedded server."""
    server = EmbeddedPostgres(data_dir)
    url = server.start()
    try:
        found: dict[str, list[tuple[int, str]] | None] = {}
        for name in ("postgres", "opsgraph_demo"):
            with psycopg.connect(make_conninfo(url, dbname=name)) as conn:
                if conn.execute("SELECT to_regclass('incidents')").fetchone() == (None,):
                    found[name] = None
                else:
                    found[name] = [tuple(r) for r in conn.execute("SELECT id, status FROM incidents ORDER BY id")]
        return found
    finally:
        server.stop()


def test_demo_runs_unattended_on_embedded_defaults() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="opsgraph-demo-"))  # not under pytest's basetemp
    try:
        result = subprocess.run([sys.executable, "-m", "app.cli", "demo", "--yes"],
                                env=service_env(OPSGRAPH_DATA_DIR=str(data_dir)),
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        databases = _incidents_by_database(data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    # Its own database, and nothing left open in it; the service's database is untouched.
    assert databases == {"postgres": None, "opsgraph_demo": [(1, "cancelled")]}
    out = result.stdout
    token = re.search(r"API token for this demo: (\S+)", out)
    assert token is not None
    assert f"try: curl -H 'Authorization: Bearer {token.group(1)}' http://127.0.0.1:" in out
    assert "database opsgraph_demo)" in out
    assert "incident 1 closed: cancelled (cancelled by api: demo finished: its simulated cluster and GitOps repository "\
           "end with it)" in out
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
