"""A worker process killed with SIGKILL mid-diagnosis: another process re-claims the item after the
lease expires, the LangGraph thread resumes from its checkpoint, and the incident ends exactly once."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from app.settings import Settings
from tests.support.checkpoint_runner import create_probe_tables
from tests.support.intake import (
    am_alert,
    am_payload,
    bearer,
    intake_env,
    query,
    start_runner_service,
    wait_until,
)


def test_killed_worker_item_resumes_from_checkpoint_on_another_process(
        settings: Settings, database_url: str, tmp_path: Path) -> None:
    create_probe_tables(database_url)
    assert settings.database_url is not None
    env = intake_env(settings.database_url.get_secret_value(), OPSGRAPH_WORKERS="2",
                     OPSGRAPH_WORKER_LEASE_SECONDS="2", OPSGRAPH_WORKER_POLL_SECONDS="0.3")
    release = tmp_path / "release"
    first = start_runner_service(env, tmp_path / "first.log", release_file=release, resolve_on_finish=True)
    second = None
    try:
        reply = httpx.post(first.url + "/webhooks/alertmanager", headers=bearer(), timeout=30, json=am_payload(
            [am_alert("KubePodCrashLooping", "fp-1", namespace="shop", pod="cart-7f9c6d5b8-k2x4q")]))
        assert reply.status_code == 202
        (incident_id,) = reply.json()["incident_ids"]
        # Mid-diagnosis: `investigate` is checkpointed and the graph is blocked in `wait_for_release`.
        wait_until(lambda: query(database_url, "SELECT 1 FROM probe_side_effects WHERE node = 'waiting' AND pid = %s",
                                 (first.process.pid,)), what="the first process to block mid-run")
        second = start_runner_service(env, tmp_path / "second.log", release_file=release, resolve_on_finish=True)
        # While the first process lives, its heartbeats keep the item: the second never takes it.
        assert query(database_url, "SELECT lease_owner FROM work_items")[0]["lease_owner"].split(":")[1] == str(
            first.process.pid)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        release.touch()
        wait_until(lambda: query(database_url, "SELECT status FROM work_items WHERE status = 'done'"), timeout=30,
                   what="the second process to finish the resumed item")
    finally:
        first.stop(signal.SIGKILL)
        if second is not None:
            second.stop()

    calls = query(database_url, "SELECT resume, pid FROM probe_runner_calls ORDER BY at")
    assert [(c["resume"], c["pid"]) for c in calls] == [(False, first.process.pid), (True, second.process.pid)]
    effects = query(database_url, "SELECT node, pid FROM probe_side_effects ORDER BY at")
    assert [e["node"] for e in effects] == ["investigate", "waiting", "waiting", "conclude"]
    assert effects[0]["pid"] == first.process.pid and effects[-1]["pid"] == second.process.pid
    attempts = query(database_url, "SELECT attempt, resume, outcome, message FROM work_attempts ORDER BY attempt")
    assert [(a["attempt"], a["resume"], a["outcome"]) for a in attempts] == [(1, False, "lost"), (2, True, "done")]
    assert "lease expired" in attempts[0]["message"]
    incident = query(database_url, "SELECT status, closed_at FROM incidents WHERE id = %s", (incident_id,))[0]
    assert incident["status"] == "resolved" and incident["closed_at"] is not None
    ended = query(database_url, "SELECT actor, message FROM incident_events WHERE incident_id = %s AND kind = 'status'",
                  (incident_id,))
    assert ended == [{"actor": "probe-graph", "message": "probe graph concluded"}]
    timeline = [e["message"] for e in query(database_url, "SELECT message FROM incident_events WHERE incident_id = %s "
                                                          "AND kind = 'attempt_started' ORDER BY id", (incident_id,))]
    assert timeline == ["diagnose started (attempt 1 of 5)",
                        "diagnose resumed from its checkpoint (attempt 2 of 5) after the previous worker's lease expired"]
