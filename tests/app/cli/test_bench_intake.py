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


def test_bench_intake_reports_latency_throughput_cpu_and_zero_loss(settings: Settings) -> None:
    assert settings.database_url is not None
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "intake", "--seconds", "0.5", "--rate", "40",
         "--concurrency", "4", "--alerts-per-request", "3"],
        env=service_env(OPSGRAPH_DATABASE_URL=settings.database_url.get_secret_value()),
        capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for phase in ("steady", "peak"):
        line = re.search(rf"^{phase} +(\d+) alerts in (\d+) requests .* \| errors 0$", out, re.MULTILINE)
        assert line is not None, out
        assert int(line[1]) == 3 * int(line[2]) > 0
    assert re.search(r"CPU per request: service \d+\.\d+ ms, postgres \d+\.\d+ ms, client \d+\.\d+ ms", out), out
    acked = re.search(r"loss check: (\d+) alerts acknowledged, (\d+) stored -> zero loss", out)
    assert acked is not None and acked[1] == acked[2], out
