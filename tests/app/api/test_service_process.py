"""The service as a real process: probes, metrics, request ids, shutdown, start-up failures."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from app.settings import Settings
from tests.support.service import ServiceProcess, running_service, service_env, start_service


@pytest.fixture
def service(settings: Settings, tmp_path: Path) -> Iterator[ServiceProcess]:
    assert settings.database_url is not None
    env = service_env(DATABASE_URL=settings.database_url.get_secret_value(), OPSGRAPH_DATA_DIR=str(tmp_path))
    with running_service(env, tmp_path / "service.log") as running:
        yield running


def test_probes_answer_and_readyz_reports_the_schema(service: ServiceProcess) -> None:
    assert httpx.get(service.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(service.url + "/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok" and body["schema_version"] == body["expected_schema_version"] >= 1


def test_request_id_is_echoed_logged_and_generated_when_absent(service: ServiceProcess) -> None:
    mine = httpx.get(service.url + "/readyz", headers={"X-Request-ID": "req-abc-123"})
    assert mine.headers["x-request-id"] == "req-abc-123"
    generated = httpx.get(service.url + "/readyz").headers["x-request-id"]
    assert len(generated) == 32 and generated != "req-abc-123"
    hostile = httpx.get(service.url + "/readyz", headers={"X-Request-ID": "x" * 5000}).headers["x-request-id"]
    assert len(hostile) == 32  # an oversized id is replaced, not echoed into our logs
    service.stop()
    records = [json.loads(line) for line in service.log().splitlines() if line.startswith("{")]
    requests = [r for r in records if r.get("msg") == "request"]
    assert any(r.get("request_id") == "req-abc-123" and r["path"] == "/readyz" and r["status"] == 200
               for r in requests)


def test_metrics_count_requests_by_route_template(service: ServiceProcess) -> None:
    httpx.get(service.url + "/readyz")
    httpx.get(service.url + "/no/such/path")
    text = httpx.get(service.url + "/metrics").text
    assert 'opsgraph_http_requests_total{method="GET",route="/readyz",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "/no/such/path" not in text  # raw paths never become labels


def test_readyz_is_503_when_the_schema_is_behind(service: ServiceProcess, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM opsgraph_migrations WHERE version = (SELECT max(version) FROM opsgraph_migrations)")
    response = httpx.get(service.url + "/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "schema not current"
    assert httpx.get(service.url + "/healthz").status_code == 200  # alive, just not ready


def test_sigterm_shuts_down_gracefully(service: ServiceProcess) -> None:
    # uvicorn finishes its graceful shutdown, then re-raises the signal so the exit status says
    # "terminated by SIGTERM", as process supervisors expect.
    assert service.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    log = service.log()
    assert "opsgraph stopping" in log and "Application shutdown complete" in log
    assert "Traceback" not in log


def test_unreachable_database_fails_start_up_with_one_line(tmp_path: Path) -> None:
    env = service_env(DATABASE_URL="postgresql://ops:pw@127.0.0.1:9/opsgraph",
                      OPSGRAPH_DB_CONNECT_TIMEOUT_SECONDS="2", OPSGRAPH_LOG_FORMAT="text")
    service = start_service(env, tmp_path / "service.log", wait_ready=False)
    assert service.process.wait(30) == 3
    errors = [line for line in service.log().splitlines() if "ERROR" in line]
    assert errors[0].endswith(
        'opsgraph cannot start: database unreachable at 127.0.0.1:9/opsgraph: connection failed: connection to '
        'server at "127.0.0.1", port 9 failed: Connection refused step=database'
    ), errors
    assert "Traceback" not in service.log()
    assert ":pw@" not in service.log()


def test_invalid_clusters_file_is_a_configuration_error_before_postgres_starts(tmp_path: Path) -> None:
    clusters = tmp_path / "clusters.yaml"
    clusters.write_text("clusters:\n  prod: {in_cluster: true, kubeconfig: prod.yaml}\n")
    data_dir = tmp_path / "data"
    env = service_env(OPSGRAPH_CLUSTERS_FILE=str(clusters), OPSGRAPH_DATA_DIR=str(data_dir), OPSGRAPH_LOG_FORMAT="text")
    service = start_service(env, tmp_path / "service.log", wait_ready=False)
    assert service.process.wait(30) == 2  # 3 means "database unreachable"
    assert service.log().strip() == (
        f"opsgraph: invalid configuration: OPSGRAPH_CLUSTERS_FILE: {clusters}: clusters.prod: "
        "Value error, set exactly one of `kubeconfig` or `in_cluster: true`")
    assert not (data_dir / "postgres").exists(), "the embedded Postgres was started for an invalid configuration"
