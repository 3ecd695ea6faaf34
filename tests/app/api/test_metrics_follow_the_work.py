"""/metrics tells an operator what intake and the workers are doing, from a real service process.

Counters come from this process; the incident and queue gauges are read from Postgres (at most
every few seconds). The probe runner blocks mid-run until the test releases it, so the gauges are seen while an
item runs and another waits. A database outage still answers with the counters.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families
from psycopg.conninfo import conninfo_to_dict

from app.settings import Settings
from tests.support.checkpoint_runner import create_probe_tables
from tests.support.intake import am_alert, am_payload, bearer, intake_env, query, runner_services, wait_until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    reply = httpx.get(url + "/metrics", timeout=10)
    assert reply.status_code == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(reply.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_metrics_follow_alerts_through_the_queue(settings: Settings, database_url: str, postgres_url: str,
                                                 tmp_path: Path) -> None:
    create_probe_tables(database_url)
    assert settings.database_url is not None
    env = intake_env(settings.database_url.get_secret_value(), OPSGRAPH_WORKERS="1",
                     OPSGRAPH_WORKER_POLL_SECONDS="0.5")
    release = tmp_path / "release"
    payload = am_payload([
        am_alert("KubePodCrashLooping", "m1", namespace="shop", pod="checkout-7f9c6d5b8-k2x4q"),
        am_alert("KubePodNotReady", "m2", namespace="shop", pod="checkout-7f9c6d5b8-m8zzt"),
        am_alert("KubeNodeNotReady", "m3", node="worker-2", severity="critical"),
    ])
    with runner_services(env, tmp_path, 1, release_file=release, resolve_on_finish=True) as (service,):
        for _ in range(2):  # the second is Alertmanager retrying the same payload
            reply = httpx.post(service.url + "/webhooks/alertmanager", json=payload, headers=bearer(), timeout=10)
            assert reply.status_code == 202, reply.text
        wait_until(lambda: query(database_url, "SELECT 1 FROM probe_side_effects WHERE node = 'waiting'"),
                   what="the first item to block mid-run")

        during = scrape(service.url)
        assert value(during, "opsgraph_alerts_received_total", source="alertmanager") == 3
        assert value(during, "opsgraph_duplicate_deliveries_total", source="alertmanager") == 1
        assert value(during, "opsgraph_incidents_opened_total", source="alertmanager") == 2
        assert value(during, "opsgraph_work_items", kind="diagnose", status="running") == 1
        assert value(during, "opsgraph_work_items", kind="diagnose", status="queued") == 1
        assert value(during, "opsgraph_live_incidents", status="diagnosing") == 1
        assert value(during, "opsgraph_live_incidents", status="open") == 1
        assert (value(during, "opsgraph_work_oldest_ready_seconds") or 0) > 0

        release.touch()
        wait_until(lambda: query(database_url, "SELECT count(*) AS n FROM work_items WHERE status = 'done'")[0]["n"]
                   == 2, timeout=60, what="both items to finish")
        # The gauges are re-read at most every few seconds: poll until they show the finished work.
        after = wait_until(lambda: (m := scrape(service.url))
                           and not [key for key in m if key[0] == "opsgraph_work_items"] and m,
                           timeout=30, what="the gauges to show both items finished")
        assert value(after, "opsgraph_work_attempts_total", kind="diagnose", outcome="done") == 2
        assert value(after, "opsgraph_work_attempt_duration_seconds_count", kind="diagnose") == 2
        assert not [key for key in after if key[0] == "opsgraph_work_items"]  # nothing queued or running
        assert value(after, "opsgraph_live_incidents", status="open") == 0
        assert value(after, "opsgraph_live_incidents", status="diagnosing") == 0
        assert value(after, "opsgraph_work_oldest_ready_seconds") == 0

        dbname = conninfo_to_dict(database_url)["dbname"]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))
            try:  # scrape until one of them had to read the database and could not
                outage = wait_until(lambda: (m := scrape(service.url))
                                    and "gauges not refreshed" in service.log_path.read_text() and m,
                                    timeout=30, what="a scrape during the outage")
            finally:
                admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
        assert value(outage, "opsgraph_alerts_received_total", source="alertmanager") == 3
        assert value(outage, "opsgraph_work_attempts_total", kind="diagnose", outcome="done") == 2
