"""`opsgraph kb ingest`, `opsgraph kb search` and `opsgraph bench kb` as a user runs them (real processes,
real Postgres). The benchmark's figures are not asserted (a shared machine), only that it reports them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from app.settings import Settings
from tests.support.service import service_env


def _opsgraph(settings: Settings, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    assert settings.database_url is not None
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=timeout,
                          env=service_env(OPSGRAPH_DATABASE_URL=settings.database_url.get_secret_value()), check=False)


def test_ingest_then_search_finds_the_new_runbook(settings: Settings, tmp_path: Path) -> None:
    runbook = tmp_path / "ledger.md"
    runbook.write_text("---\nskill: job_failed\nnamespace: finance\n---\n# ledger-sync nightly job\n\n## Fix\n"
                       "The nightly backup locks the ledger table; run ledger-sync after 03:00.\n")
    ingested = _opsgraph(settings, "kb", "ingest", str(runbook))
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    assert f"{runbook.resolve()}: added, 1 chunks" in ingested.stdout
    again = _opsgraph(settings, "kb", "ingest", str(runbook))
    assert f"{runbook.resolve()}: unchanged (same content already ingested)" in again.stdout
    found = _opsgraph(settings, "kb", "search", "ledger table locked by the backup", "--skill", "job_failed")
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("1. [runbook] ledger-sync nightly job > Fix  (score ")
    refused = _opsgraph(settings, "kb", "search", "x", "--limit", "0")
    assert refused.returncode == 2 and "--limit must be between 1 and 50" in refused.stderr


def test_bench_kb_reports_ingest_rate_latency_and_quality(settings: Settings) -> None:
    result = _opsgraph(settings, "bench", "kb", "--chunks", "300", "--queries", "20")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"^ingest: 300 chunks in \d+\.\d s = \d+ chunks/s", out, re.M), out
    assert re.search(r"^hybrid search over 3\d\d chunks, 20 queries: p50 \d+\.\d ms, p95 \d+\.\d ms", out, re.M), out
    for mode in ("hybrid", "meaning", "words"):
        assert re.search(rf"^ *{mode} among all chunks: 48 questions, recall@3 \d\.\d+, MRR \d\.\d+", out, re.M), out
