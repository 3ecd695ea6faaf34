"""The webhook's edge: credentials, shape, size, emptiness, redelivery, and a database outage."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr

from app.main import create_app
from app.settings import Settings
from tests.support.intake import (
    WEBHOOK_TOKEN,
    ThreadedService,
    am_alert,
    am_payload,
    bearer,
    query,
    wait_until,
)

URL = "/webhooks/alertmanager"
CRASH = am_alert("KubePodCrashLooping", "a38bd979bba359db", namespace="webapp-backend",
                 pod="backend-api-7f9c6d5b8-k2x4q", container="api-server")


@pytest.fixture
def service(settings: Settings) -> Iterator[ThreadedService]:
    configured = settings.model_copy(update={
        "webhook_token": SecretStr(WEBHOOK_TOKEN), "request_db_timeout_seconds": 1.0, "workers": 0,
    })
    with ThreadedService(lambda: create_app(configured)) as running:
        yield running


def post(service: ThreadedService, body: Any, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
    content = body if isinstance(body, bytes | str) or body is None else json.dumps(body)
    return httpx.post(service.url + URL, content=content, headers=headers if headers is not None else bearer(),
                      timeout=10, **kw)


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="no-credentials"),
    pytest.param(bearer("wrong"), id="wrong-bearer"),
    pytest.param({"Authorization": "Basic " + base64.b64encode(b"am:wrong").decode()}, id="wrong-basic"),
    pytest.param({"Authorization": "Token " + WEBHOOK_TOKEN}, id="unknown-scheme"),
])
def test_wrong_credentials_are_401(service: ThreadedService, headers: dict[str, str]) -> None:
    reply = post(service, am_payload([CRASH]), headers)
    assert reply.status_code == 401
    assert "webhook credentials" in reply.json()["detail"]


def test_basic_auth_password_is_accepted(service: ThreadedService) -> None:
    basic = {"Authorization": "Basic " + base64.b64encode(f"alertmanager:{WEBHOOK_TOKEN}".encode()).decode()}
    assert post(service, am_payload([CRASH]), basic).status_code == 202


@pytest.mark.parametrize(("mutate", "field"), [
    pytest.param(lambda p: p.pop("version"), "version", id="missing-version"),
    pytest.param(lambda p: p["alerts"][0].pop("fingerprint"), "fingerprint", id="missing-fingerprint"),
    pytest.param(lambda p: p["alerts"][0].update(startsAt="yesterday"), "startsAt", id="bad-time"),
    pytest.param(lambda p: p["alerts"][0]["labels"].pop("alertname"), "labels", id="no-alertname"),
    pytest.param(lambda p: p.update(alerts="many"), "alerts", id="alerts-not-a-list"),
])
def test_wrong_shape_is_422_naming_the_field(service: ThreadedService, mutate: Any, field: str) -> None:
    payload = am_payload([dict(CRASH, labels=dict(CRASH["labels"]))])
    mutate(payload)
    reply = post(service, payload)
    assert reply.status_code == 422
    locations = [err["loc"] for err in reply.json()["detail"]]
    assert any(field in loc for loc in locations), locations


def test_invalid_json_is_422(service: ThreadedService) -> None:
    assert post(service, b"{not json").status_code == 422


def test_oversize_is_413_even_without_content_length(service: ThreadedService, database_url: str) -> None:
    big = b"x" * (1024 * 1024 + 1)
    assert post(service, big).status_code == 413

    def chunks() -> Iterator[bytes]:  # chunked transfer: no Content-Length to trust
        for _ in range(20):
            yield b" " * 65536

    reply = httpx.post(service.url + URL, content=chunks(), headers=bearer(), timeout=10)
    assert reply.status_code == 413
    assert count(database_url, "alert_payloads") == 0


def test_empty_alerts_is_400(service: ThreadedService) -> None:
    reply = post(service, am_payload([]))
    assert reply.status_code == 400
    assert "no alerts" in reply.json()["detail"]


def count(database_url: str, table: str) -> int:
    return int(query(database_url, f"SELECT count(*) AS n FROM {table}")[0]["n"])


def test_duplicate_delivery_is_idempotent(service: ThreadedService, database_url: str) -> None:
    payload = am_payload([CRASH, am_alert("KubePodNotReady", "b1", namespace="webapp-backend",
                                          pod="backend-api-7f9c6d5b8-k2x4q")])
    first = post(service, payload)
    assert first.status_code == 202, first.text
    assert first.json()["new_alerts"] == 2 and len(first.json()["opened"]) == 1
    again = post(service, payload)
    assert again.status_code == 202
    assert again.json() == {**first.json(), "opened": [], "new_alerts": 0, "duplicate": True}
    assert count(database_url, "incidents") == 1
    assert count(database_url, "incident_alerts") == 2
    assert count(database_url, "work_items") == 1
    assert query(database_url, "SELECT deliveries FROM alert_payloads") == [{"deliveries": 2}]


def test_database_outage_is_503_and_loses_nothing(service: ThreadedService, database_url: str,
                                                  postgres_url: str) -> None:
    accepted = post(service, am_payload([CRASH]))
    assert accepted.status_code == 202
    dbname = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))
        try:
            during = post(service, am_payload([am_alert("KubeNodeNotReady", "n1", node="worker-2")]))
            assert during.status_code == 503
            assert during.headers["retry-after"]
            assert "nothing was stored" in during.json()["detail"]
        finally:
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
    # Alertmanager's retry, once the database is back, stores the rejected delivery.
    retried = wait_until(lambda: (r := post(service, am_payload([am_alert("KubeNodeNotReady", "n1", node="worker-2")])))
                         .status_code == 202 and r, timeout=30, what="the service to reach the database again")
    assert retried.json()["new_alerts"] == 1
    rows = query(database_url, "SELECT fingerprint FROM incident_alerts ORDER BY fingerprint")
    assert [r["fingerprint"] for r in rows] == ["a38bd979bba359db", "n1"]
