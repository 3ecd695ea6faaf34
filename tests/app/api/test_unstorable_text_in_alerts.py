"""Text Postgres cannot hold (NUL, lone surrogates) in an alert: the delivery is stored with U+FFFD in
its place, the alert's timeline entry names the fields that were changed, and nothing is dropped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.main import create_app
from app.settings import Settings
from tests.support.intake import WEBHOOK_TOKEN, ThreadedService, am_alert, am_payload, bearer, query

URL = "/webhooks/alertmanager"


@pytest.fixture
def service(settings: Settings) -> Iterator[ThreadedService]:
    configured = settings.model_copy(update={"webhook_token": SecretStr(WEBHOOK_TOKEN), "workers": 0})
    with ThreadedService(lambda: create_app(configured)) as running:
        yield running


def _post(service: ThreadedService, payload: dict[str, Any]) -> httpx.Response:
    return httpx.post(service.url + URL, content=json.dumps(payload), headers=bearer(), timeout=10)


def test_nul_in_labels_and_annotations_is_replaced_and_recorded(service: ThreadedService, database_url: str) -> None:
    alert = am_alert("KubePodCrashLooping", "fp-nul", namespace="shop", pod="cart-7f9c6d5b8-k2x4q")
    alert["labels"]["team\x00"] = "pay\x00ments"
    alert["annotations"] = {"description": "line one\x00line two", "summary": "clean"}
    reply = _post(service, am_payload([alert]))
    assert reply.status_code == 202, reply.text
    (incident_id,) = reply.json()["incident_ids"]

    (stored,) = query(database_url, "SELECT labels, annotations FROM incident_alerts WHERE fingerprint = 'fp-nul'")
    assert stored["labels"]["team\ufffd"] == "pay\ufffdments"
    assert stored["annotations"] == {"description": "line one\ufffdline two", "summary": "clean"}
    (event,) = query(database_url, "SELECT data FROM incident_events WHERE incident_id = %s AND kind = 'alert'",
                     (incident_id,))
    assert event["data"]["replaced_fields"] == ["labels.team\ufffd", "annotations.description"]
    (payload,) = query(database_url, "SELECT body FROM alert_payloads")
    assert payload["body"]["alerts"][0]["labels"]["team\ufffd"] == "pay\ufffdments"


def test_clean_alert_records_no_replaced_fields(service: ThreadedService, database_url: str) -> None:
    reply = _post(service, am_payload([am_alert("KubePodCrashLooping", "fp-clean", namespace="shop",
                                                 pod="cart-7f9c6d5b8-k2x4q")]))
    assert reply.status_code == 202
    (event,) = query(database_url, "SELECT data FROM incident_events WHERE kind = 'alert'")
    assert "replaced_fields" not in event["data"]


def test_redelivery_of_a_nul_payload_is_one_delivery(service: ThreadedService, database_url: str) -> None:
    alert = am_alert("KubePodCrashLooping", "fp-again", namespace="shop", pod="cart-7f9c6d5b8-k2x4q")
    alert["annotations"] = {"description": "\x00"}
    first, second = _post(service, am_payload([alert])), _post(service, am_payload([alert]))
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json()["duplicate"] is True
    assert query(database_url, "SELECT deliveries FROM alert_payloads") == [{"deliveries": 2}]
