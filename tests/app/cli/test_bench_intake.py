"""`opsgraph bench intake` runs end to end: a real service process, real HTTP, rows counted.

A smoke run with short phases so the benchmark cannot rot; the figures themselves belong in
notes, not in assertions (this machine is shared and noisy).
"""

from __future__ import annotations

import re
import subprocess
import sys

from app.settings import Settings
from tests.support.service import service_env


def test_bench_intake_reports_latency_throughput_cpu_zero_loss_and_medians(settings: Settings) -> None:
    assert settings.database_url is not None
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "intake", "--seconds", "0.3", "--rate", "40",
         "--concurrency", "4", "--alerts-per-request", "3", "--repeat", "2"],
        env=service_env(OPSGRAPH_DATABASE_URL=settings.database_url.get_secret_value()),
        capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for phase in ("steady", "peak"):
        lines = re.findall(rf"^{phase} +(\d+) alerts in (\d+) requests .* \| errors 0$", out, re.MULTILINE)
        assert len(lines) == 2, out  # one per run
        assert all(int(alerts) == 3 * int(requests) > 0 for alerts, requests in lines), out
    cpu = r"CPU per request: service \d+\.\d+ ms, postgres \d+\.\d+ ms, client \d+\.\d+ ms"
    assert len(re.findall(cpu, out)) == 4, out
    checks = re.findall(r"loss check: (\d+) alerts acknowledged, (\d+) stored -> zero loss", out)
    assert len(checks) == 2 and all(acked == stored for acked, stored in checks), out
    assert re.search(r"^median of 2 runs: steady ack p50 \d+\.\d ms, p99 \d+\.\d ms \| peak \d+ alerts/s$",
                     out, re.MULTILINE), out
