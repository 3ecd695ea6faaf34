"""Fuzzing the GitHub webhook (Hypothesis): signed or not, any event, delivery id or body gets 2xx or a
clear 4xx, never 5xx; a refused delivery changes nothing, and an applied one is applied whole (the
delivery recorded once, the incident moved with its timeline entry and, for a merge, its verification)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import event as event_note
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

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
from tests.support.intake import ThreadedService
from tests.support.verification import BRANCH, REPO, WEBHOOK_SECRET, pr_event, seed_incident, sign

TABLES = ["github_deliveries", "incident_events", "work_items", "incident_verifications"]
numbers = st.one_of(st.integers(), st.integers(min_value=2**31 - 2, max_value=2**64))


def mostly(value: Any, other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`value` three times in four: enough well-formed deliveries reach the incident to test applying them."""
    return st.one_of(st.just(value), st.just(value), st.just(value), other)


@pytest.fixture
def service(settings: Settings) -> Iterator[ThreadedService]:
    configured = settings.model_copy(update={"github_webhook_secret": SecretStr(WEBHOOK_SECRET), "workers": 0})
    with ThreadedService(lambda: create_app(configured)) as running:
        yield running


@st.composite
def pull_request_events(draw: st.DrawFn, incident_id: int) -> dict[str, Any]:
    event = pr_event(draw(mostly(1, numbers)), draw(mostly(BRANCH.format(id=incident_id), hostile_text)),
                     merged=draw(st.booleans()), action=draw(mostly("closed", hostile_text)),
                     repo=draw(mostly(REPO, hostile_text)))
    pr = event["pull_request"]
    for field in draw(st.sets(st.sampled_from(["html_url", "merge_commit_sha", "title", "state"]), max_size=2)):
        pr[field] = draw(hostile_text)
    if draw(st.booleans()):
        pr["merged_by"] = {"login": draw(hostile_text)}
    if draw(st.booleans()):
        pr["merged_at"] = draw(st.one_of(hostile_text, st.just("2026-12-04T10:00:00Z"), st.just("9999-99-99")))
    if draw(st.booleans()):
        event[draw(hostile_text)] = draw(any_json)
    return event


def deliver(service: ThreadedService, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(service.url + "/webhooks/github", content=body,
                      headers={k: v.encode("latin-1") for k, v in headers.items()}, timeout=30)


def check(database_url: str, incident_id: int, reply: httpx.Response, before: dict[str, int],
          status_before: str) -> None:
    after = row_counts(database_url, TABLES)
    [(status,)] = rows(database_url, "SELECT status FROM incidents WHERE id = %s", (incident_id,))
    if reply.status_code >= 400 or reply.json()["outcome"] in ("pong", "ignored", "duplicate", "unchanged"):
        changed = {t for t in TABLES if after[t] != before[t]} - {"github_deliveries"}
        assert not changed and status == status_before, (reply.status_code, reply.text[:300], changed)
        if reply.status_code >= 400:
            assert after == before
        return
    outcome = reply.json()["outcome"]
    assert after["github_deliveries"] == before["github_deliveries"] + 1
    if outcome == "verifying":
        assert (status, after["work_items"], after["incident_verifications"]) == (
            "verifying", before["work_items"] + 1, before["incident_verifications"] + 1)
    else:
        assert (outcome, status) == ("rejected", "awaiting_human")
    assert after["incident_events"] > before["incident_events"]


@FUZZ
@given(data=st.data(), event=st.sampled_from(["pull_request", "pull_request", "ping"]),
       delivery=st.one_of(st.uuids().map(str), header_text))
def test_signed_deliveries_get_a_clear_answer_and_are_applied_whole(
        service: ThreadedService, database_url: str, data: st.DataObject, event: str, delivery: str) -> None:
    [(incident_id,)] = rows(database_url, "SELECT id FROM incidents WHERE status = 'remediating'") or [
        (seed_incident(database_url),)]
    payload = data.draw(st.one_of(pull_request_events(incident_id), any_json), label="payload")
    body = data.draw(st.sampled_from([json.dumps(payload).encode(),
                                      json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")]))
    before = row_counts(database_url, TABLES)
    [(status_before,)] = rows(database_url, "SELECT status FROM incidents WHERE id = %s", (incident_id,))
    reply = deliver(service, body, {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
                                    "X-Hub-Signature-256": sign(body), "Content-Type": "application/json"})
    assert_clear_answer(reply, {200, 202})
    event_note(f"{reply.status_code} {reply.json().get('outcome', '')}")
    check(database_url, incident_id, reply, before, status_before)


@FUZZ
@given(body=st.one_of(raw_bodies, any_json.map(lambda v: json.dumps(v).encode())),
       headers=st.dictionaries(st.sampled_from(["X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256",
                                                "Content-Type", "X-Whatever"]), header_text, max_size=5))
def test_unsigned_or_badly_signed_deliveries_are_401_and_change_nothing(
        service: ThreadedService, database_url: str, body: bytes, headers: dict[str, str]) -> None:
    before = row_counts(database_url, TABLES)
    reply = deliver(service, body, headers)
    if len(body) > Settings.model_fields["webhook_max_body_bytes"].default:
        assert reply.status_code == 413
    else:
        assert reply.status_code == 401, reply.text
    assert_clear_answer(reply, set())
    assert row_counts(database_url, TABLES) == before
