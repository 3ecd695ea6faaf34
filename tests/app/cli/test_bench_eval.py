"""`opsgraph bench eval` prints the whole scoreboard's figures from real runs: the public suite K times and
the variants, with each transform's pass rate (a small instance here; the full one is the benchmark)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from app.bench.eval import _by_transform, run_eval_bench
from app.settings import Settings
from sim.scenario import find_scenario


def test_pass_rates_are_counted_per_transform() -> None:
    rows = [{"ok": True, "details": {"transforms": ["rename", "owner=Job", "alert=KubePodNotReady"]}},
            {"ok": False, "details": {"transforms": ["rename", "owner=Job"]}},
            {"ok": True, "details": {"transforms": ["rename", "alert=KubeJobFailed"]}}]
    lines = [line.split() for line in _by_transform(rows)]
    assert lines == [["alert", "2/2"], ["owner=Job", "1/2"], ["rename", "2/3"]]


def test_bench_eval_prints_pass_k_and_the_variants_figures(settings: Settings, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    shutil.copy(find_scenario("secret_ref_missing"), folder)
    monkeypatch.setattr("app.bench.eval.scenario_dir", lambda: folder)
    log = tmp_path / "rows.log"
    assert run_eval_bench(settings, repeat=2, variants=2, seed=5, log=log) == 0
    out = capsys.readouterr().out
    assert re.search(r"pass@1 2/2; pass\^2 1/1", out), out
    assert re.search(r"generalisation suite, 2 variants of seed 5:\n  2/2 passed", out), out
    assert "rename" in out and log.read_text().count("secret_ref_missing") >= 4
