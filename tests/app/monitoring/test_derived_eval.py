"""`opsgraph eval --alerts derived`: the row's alerts come from real Prometheus and Alertmanager, and so does
the resolution after the fix."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from app.eval.report import run_eval
from app.settings import Settings
from sim.scenario import scenario_dir
from tests.support.prometheus import require_pipeline


async def test_derived_alerts_open_the_incident_and_resolve_after_the_fix(settings: Settings, tmp_path: Path) -> None:
    require_pipeline()
    folder = tmp_path / "scenarios"
    folder.mkdir()
    shutil.copy(scenario_dir() / "oom_memory_hog.yaml", folder / "oom_memory_hog.yaml")
    out, json_path = io.StringIO(), tmp_path / "eval.json"
    code = await run_eval(settings, folder, repeat=1, json_path=json_path, out=out, alerts="derived")
    assert code == 0, out.getvalue()
    (row,) = json.loads(json_path.read_text())["rows"]
    assert row["ok"] and row["fix"] == "ok" and row["got"] == "oom_killed Deployment/default/memory-hog"
    assert not [r for r in row["reasons"] if "resolved notification" in r]

