"""Fuzzing the Alertmanager webhook (Hypothesis): any body, header or label gets 202 or a clear 4xx,
never 5xx, and a delivery is stored whole or not at all (the database is checked after each example)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from app.db.storable_text import storable
from app.main import create_app
from app.settings import Settings
from tests.support.fuzzing import (
    FUZZ,
    any_json,
    assert_clear_answer,
    header_text,
    hostile_text,
    raw_bodies,
    row_counts,
    rows,
)
from tests.support.intake import WEBHOOK_TOKEN, ThreadedService

URL = "/webhooks/alertmanager"
TABLES = ["alert_payloads", "incident_alerts", "incidents", "incident_events", "work_items"]
WELL_KNOWN = ["namespace", "pod", "deployment", "statefulset", "cluster", "cluster_id", "severity", "container"]




@pytest.fixture
def service(settings: Settings) -> Iterator[ThreadedService]:
    configured = settings.model_copy(update={"webhook_token": SecretStr(WEBHOOK_TOKEN), "workers": 0,
                                             "owner_lookup_timeout_seconds": 0})
    with ThreadedService(lambda: create_app(configured)) as running:
        yield running


@st.composite
def alerts(draw: st.DrawFn) -> dict[str, Any]:
    labels = draw(st.dictionaries(hostile_text, hostile_text, max_size=3))
    for key in draw(st.sets(st.sampled_from(WELL_KNOWN), max_size=4)):
        labels[key] = draw(hostile_text)
    labels["alertname"] = draw(st.one_of(st.just("KubePodCrashLooping"), hostile_text))
    return {
        "status": draw(st.sampled_from(["firing", "resolved"])), "labels": labels,
        "annotations": draw(st.dictionaries(hostile_text, hostile_text, max_size=3)),
        "startsAt": draw(st.sampled_from(["2026-12-04T10:00:00Z", "2026-12-04T10:00:00.123456789+01:00"])),
        "endsAt": draw(st.sampled_from(["0001-01-01T00:00:00Z", "2026-12-04T11:00:00Z"])),
        "generatorURL": draw(hostile_text),
        "fingerprint": draw(st.one_of(st.text("0123456789abcdef", min_size=1, max_size=16), hostile_text)),
    }


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "version": "4", "receiver": draw(hostile_text), "status": "firing",
        "alerts": draw(st.lists(alerts(), min_size=1, max_size=3)), "groupKey": draw(hostile_text),
        "groupLabels": draw(st.dictionaries(hostile_text, hostile_text, max_size=2)),
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": draw(hostile_text), "truncatedAlerts": 0,
    }
    if draw(st.booleans()):  # an unknown field anywhere, of any shape
        payload[draw(hostile_text)] = draw(any_json)
    return payload


def encode(payload: Any, how: str) -> bytes:
    if how == "ascii":
        return json.dumps(payload).encode()
    # Raw code points; a lone surrogate becomes bytes that are not UTF-8.
    return json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")


def post(service: ThreadedService, body: bytes, headers: dict[str, str]) -> httpx.Response:
    # As bytes: HTTP header values are latin-1 on the wire, and httpx takes str values as ASCII only.
    return httpx.post(service.url + URL, content=body, headers={k: v.encode("latin-1") for k, v in headers.items()},
                      timeout=30)


def check_stored_whole_or_not_at_all(database_url: str, body: bytes, reply: httpx.Response,
                                     before: dict[str, int]) -> None:
    after = row_counts(database_url, TABLES)
    if reply.status_code != 202:
        assert after == before, f"a refused delivery ({reply.status_code}) changed the database"
        return
    answer = reply.json()
    digest = hashlib.sha256(body).hexdigest()
    assert rows(database_url, "SELECT 1 FROM alert_payloads WHERE digest = %s", (digest,)), "payload row missing"
    # Every firing alert is stored, as Postgres can hold it (an earlier example may hold the same firing);
    # a resolution of a firing never seen has nothing to close.
    firing = {storable(a["fingerprint"]) for a in json.loads(body)["alerts"] if a["status"] == "firing"}
    stored = {r[0] for r in rows(database_url, "SELECT fingerprint FROM incident_alerts WHERE fingerprint = ANY(%s)",
                                 (list(firing),))}
    assert firing == stored, (firing, stored)
    assert len(rows(database_url, "SELECT id FROM incidents WHERE id = ANY(%s)", (answer["incident_ids"],))) == \
        len(set(answer["incident_ids"]))
    assert after["alert_payloads"] - before["alert_payloads"] == (0 if answer["duplicate"] else 1)


@FUZZ
@given(payload=payloads(), how=st.sampled_from(["ascii", "raw"]))
def test_any_labels_are_stored_whole_or_refused_clearly(service: ThreadedService, database_url: str,
                                                        payload: dict[str, Any], how: str) -> None:
    body = encode(payload, how)
    before = row_counts(database_url, TABLES)
    reply = post(service, body, {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"})
    assert_clear_answer(reply, {202})
    check_stored_whole_or_not_at_all(database_url, body, reply, before)


@FUZZ
@given(body=st.one_of(raw_bodies, any_json.map(lambda v: json.dumps(v).encode())),
       authorization=st.one_of(st.none(), st.just(f"Bearer {WEBHOOK_TOKEN}"), header_text),
       content_type=st.one_of(st.none(), st.just("application/json"), header_text),
       extra=st.dictionaries(st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20), header_text,
                             max_size=3))
def test_any_body_and_headers_get_a_clear_answer_and_store_nothing_half(
        service: ThreadedService, database_url: str, body: bytes, authorization: str | None,
        content_type: str | None, extra: dict[str, str]) -> None:
    headers = {k: v for k, v in extra.items() if k.lower() not in ("content-length", "host", "transfer-encoding")}
    if authorization is not None:
        headers["Authorization"] = authorization
    if content_type is not None:
        headers["Content-Type"] = content_type
    before = row_counts(database_url, TABLES)
    reply = post(service, body, headers)
    assert_clear_answer(reply, {202})
    check_stored_whole_or_not_at_all(database_url, body, reply, before)
