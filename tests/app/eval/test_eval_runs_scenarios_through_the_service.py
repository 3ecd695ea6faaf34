"""`opsgraph eval` on a folder it has never seen: rows, pass^K, a bad file as a failed row, JSON."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from app.eval.report import run_eval
from app.settings import Settings
from sim.scenario import scenario_dir
from tests.support.service import service_env


async def test_eval_reports_rows_pass_k_and_keeps_going_past_a_bad_file(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    shutil.copy(scenario_dir() / "crashloop_missing_env.yaml", folder / "payments_env.yaml")
    (folder / "broken.yaml").write_text("name: broken\ndescription: x\nexpect:\n  category: nope\n  resource: {kind: Pod, name: x}\n")
    out = io.StringIO()
    json_path = tmp_path / "eval.json"

    code = await run_eval(settings, folder, repeat=2, json_path=json_path, out=out)

    text = out.getvalue()
    assert code == 1  # one failed row
    assert text.strip().splitlines()[-1] == "2 passed, 1 failed"
    assert "pass^2: 1/2 scenarios right on all 2 runs" in text
    broken = next(line for line in text.splitlines() if line.startswith("broken"))
    assert "FAIL" in broken and "expect.category" in text and str(folder / "broken.yaml") in text
    rows = json.loads(json_path.read_text())["rows"]
    good = [r for r in rows if r["scenario"] == "payments_env"]
    assert [r["run"] for r in good] == [0, 1]
    for row in good:
        assert row["ok"] and row["got"] == "missing_config Deployment/payments/payment-processing-worker"
        assert row["tool_calls"] >= 1 and row["incidents"] == 1 and row["seconds"] > 0


async def test_eval_fails_a_row_whose_expectation_is_wrong(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    text = (scenario_dir() / "oom_memory_hog.yaml").read_text().replace("category: oom_killed", "category: image_pull")
    (folder / "mislabelled.yaml").write_text(text)
    out = io.StringIO()
    assert await run_eval(settings, folder, repeat=1, json_path=None, out=out) == 1
    assert "expected image_pull" not in out.getvalue()  # columns, not prose
    row = next(line for line in out.getvalue().splitlines() if line.startswith("mislabelled"))
    assert "FAIL" in row and "image_pull Deployment/default/memory-hog" in row and "oom_killed" in row


async def test_eval_runs_in_its_own_database_and_closes_what_it_opened(
        settings: Settings, tmp_path: Path, database_url: str, postgres_url: str) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    shutil.copy(scenario_dir() / "oom_memory_hog.yaml", folder)  # ends with a pushed branch: `remediating`
    own = f"eval_{uuid.uuid4().hex[:10]}"
    try:
        out = io.StringIO()
        assert await run_eval(settings.model_copy(update={"demo_database": own}), folder, repeat=1,
                              json_path=None, out=out) == 0, out.getvalue()
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT count(*) FROM incidents").fetchone() == (0,)  # the service's: untouched
        with psycopg.connect(make_conninfo(postgres_url, dbname=own)) as conn:
            rows = conn.execute("SELECT status, status_reason, pr IS NOT NULL FROM incidents").fetchall()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)')
    assert rows == [("cancelled", "cancelled by api: eval of oom_memory_hog finished; its simulated cluster is gone",
                     True)]


def test_diagnose_command_prints_the_diagnosis_for_a_scenario() -> None:
    result = subprocess.run([sys.executable, "-m", "app.cli", "diagnose", "--scenario", "oom_memory_hog", "--json"],
                            env=service_env(), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    diagnosis = json.loads(result.stdout)["diagnosis"]
    assert diagnosis["category"] == "oom_killed"
    assert diagnosis["affected"][0] == {"kind": "Deployment", "namespace": "default", "name": "memory-hog"}
    assert "100Mi" in diagnosis["root_cause"]


def test_diagnose_rejects_a_bad_resource_argument() -> None:
    result = subprocess.run([sys.executable, "-m", "app.cli", "diagnose", "--namespace", "default",
                             "--resource", "just-a-name"], env=service_env(), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2 and "--resource must be KIND/NAME" in result.stderr
