"""A real Alertmanager process for tests (Debian's prometheus-alertmanager), installed when missing.

The binary comes from `scripts/ensure-alertmanager.sh` (what `make test` runs). When it truly
cannot be installed the tests skip with a loud reason, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.intake import wait_until
from tests.support.service import free_port

ROOT = Path(__file__).resolve().parents[2]


def alertmanager_binary() -> str:
    """The Alertmanager executable; installs it once if needed, else skips (or fails under CI)."""
    found = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if found is None:
        subprocess.run([str(ROOT / "scripts" / "ensure-alertmanager.sh")], check=False, timeout=300)
        found = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if found is None:
        reason = ("REAL ALERTMANAGER MISSING: prometheus-alertmanager is not installed and "
                  "scripts/ensure-alertmanager.sh could not install it (needs root and apt-get)")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def amtool_binary() -> str:
    alertmanager_binary()
    found = shutil.which("amtool")
    assert found, "amtool ships with prometheus-alertmanager but is not on PATH"
    return found


@dataclass
class RunningAlertmanager:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        reply = httpx.post(self.url + "/api/v2/alerts", json=alerts, timeout=10)
        assert reply.status_code == 200, reply.text

    def failed_notifications(self) -> float:
        text = httpx.get(self.url + "/metrics", timeout=10).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith("alertmanager_notifications_failed_total") and 'integration="webhook"' in line:
                total += float(line.rsplit(" ", 1)[1])
        return total


def webhook_config(webhook_url: str, token: str) -> str:
    # Small waits so a test sees grouped deliveries within seconds.
    return f"""
route:
  receiver: opsgraph
  group_by: [namespace]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: opsgraph
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true
        max_alerts: 0
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


@contextmanager
def running_alertmanager(config_text: str, workdir: Path) -> Iterator[RunningAlertmanager]:
    binary = alertmanager_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(config_text)
    port = free_port()
    log_path = workdir / "alertmanager.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=debug"],
            stdout=log, stderr=subprocess.STDOUT)
    running = RunningAlertmanager(f"http://127.0.0.1:{port}", process, log_path)
    try:
        def ready() -> bool:
            assert process.poll() is None, f"alertmanager exited:\n{log_path.read_text()}"
            try:
                return httpx.get(running.url + "/-/ready", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, timeout=30, what="alertmanager to be ready")
        yield running
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
