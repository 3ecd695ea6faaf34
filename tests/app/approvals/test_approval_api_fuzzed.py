"""Fuzzing the approval API (Hypothesis) on an incident paused at the approval gate: any body, header
or incident id gets 202 or a clear 4xx, never 5xx; a refused decision records nothing, and at most one
decision is ever recorded for the change, whole (its row and its timeline entry)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import event as event_note
from hypothesis import given
from hypothesis import strategies as st

from app.main import create_app
from app.runner import build_incident_runner
from app.eval.payload import webhook_payload
from tests.support.approval_flow import TOKEN, Flow
from tests.support.fuzzing import (
    FUZZ,
    any_json,
    assert_clear_answer,
    header_text,
    hostile_text,
    raw_bodies,
    rows,
)
from tests.support.intake import ThreadedService

FIELD = "spec.template.spec.containers[name=memory-hog].resources.limits.memory"


def mostly(value: Any, other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(value), st.just(value), other)


@pytest.fixture
def paused(flow: Callable[..., Flow]) -> Iterator[tuple[ThreadedService, int, str]]:
    """The service, and an incident waiting at the approval gate with its change's hash."""
    run = flow()
    with ThreadedService(lambda: create_app(run.settings, runner_factory=build_incident_runner)) as service:
        alerts = [a.model_dump(mode="json", exclude_none=True) for a in run.sim.scenario.alerts]
        posted = httpx.post(service.url + "/webhooks/alertmanager", headers={"Authorization": f"Bearer {TOKEN}"},
                            json=webhook_payload(alerts, cluster=run.settings.default_cluster,
                                                 cluster_label=run.settings.cluster_label), timeout=30)
        incident_id = posted.json()["incident_ids"][0]
        deadline = time.monotonic() + 60
        while (incident := httpx.get(f"{service.url}/incidents/{incident_id}", timeout=30,
                                     headers={"Authorization": f"Bearer {TOKEN}"}).json())["status"] != \
                "awaiting_approval":
            assert time.monotonic() < deadline, incident["status"]
            time.sleep(0.05)  # polling the API for a condition, with a deadline
        pending = httpx.get(f"{service.url}/incidents/{incident_id}/approval", timeout=30,
                            headers={"Authorization": f"Bearer {TOKEN}"}).json()
        yield service, incident_id, pending["diff_hash"]


@st.composite
def decisions(draw: st.DrawFn, diff_hash: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "decision": draw(mostly("reject", st.one_of(st.sampled_from(["approve", "edit"]), hostile_text))),
        "approver": draw(st.one_of(st.sampled_from(["alice", "bob", "mallory"]), hostile_text, st.none())),
        "diff_hash": draw(st.one_of(st.just(diff_hash), st.just(diff_hash[:12]), st.just("0" * 64),
                                    st.text("0123456789abcdef", min_size=12, max_size=64), hostile_text)),
    }
    if draw(st.booleans()):
        body["edits"] = draw(st.one_of(
            st.lists(st.fixed_dictionaries({"object_field": mostly(FIELD, hostile_text), "new_value": any_json}),
                     max_size=3),
            any_json))
    if draw(st.booleans()):
        body["reason"] = draw(st.one_of(hostile_text, any_json))
    if draw(st.booleans()):
        body[draw(hostile_text)] = draw(any_json)
    return body


def approval_rows(database_url: str, incident_id: int) -> list[tuple[Any, ...]]:
    return rows(database_url, "SELECT decision, approver, diff_hash FROM approvals WHERE incident_id = %s",
                (incident_id,))


def approval_events(database_url: str, incident_id: int) -> int:
    """Timeline entries of recorded decisions (the graph's own later entries about applying one carry no `edits`),
    and the resume handed to the workers with them."""
    return len(rows(database_url, "SELECT 1 FROM incident_events WHERE incident_id = %s AND kind = 'approval' "
                                  "AND data ? 'edits'", (incident_id,))) + \
        len(rows(database_url, "SELECT 1 FROM work_items WHERE incident_id = %s AND kind = 'resume'", (incident_id,)))


@FUZZ
@given(data=st.data(), authorized=mostly(True, st.just(False)),
       approver_token=st.one_of(st.none(), header_text), content_type=st.one_of(st.just("application/json"),
                                                                               header_text))
def test_any_decision_gets_a_clear_answer_and_at_most_one_is_recorded_whole(
        paused: tuple[ThreadedService, int, str], database_url: str, data: st.DataObject, authorized: bool,
        approver_token: str | None, content_type: str) -> None:
    service, incident_id, diff_hash = paused
    target = data.draw(mostly(incident_id, st.integers(min_value=-2**70, max_value=2**70)), label="incident id")
    body = data.draw(st.one_of(decisions(diff_hash).map(lambda b: json.dumps(b).encode()), raw_bodies,
                               decisions(diff_hash).map(lambda b: json.dumps(b, ensure_ascii=False).encode(
                                   "utf-8", "surrogatepass"))), label="body")
    headers = {"Content-Type": content_type}
    if authorized:
        headers["Authorization"] = f"Bearer {TOKEN}"
    if approver_token is not None:
        headers["X-Approver-Token"] = approver_token
    before_rows, before_events = approval_rows(database_url, incident_id), approval_events(database_url, incident_id)

    reply = httpx.post(f"{service.url}/incidents/{target}/approval", content=body, timeout=30,
                       headers={k: v.encode("latin-1") for k, v in headers.items()})

    assert_clear_answer(reply, {202})
    event_note(str(reply.status_code))
    after_rows, after_events = approval_rows(database_url, incident_id), approval_events(database_url, incident_id)
    if reply.status_code == 202:
        assert target == incident_id and before_rows == [] and len(after_rows) == 1
        assert after_rows[0][0] == json.loads(body)["decision"] and after_events == before_events + 2
    else:
        assert (after_rows, after_events) == (before_rows, before_events)
    assert len(after_rows) <= 1


@pytest.mark.parametrize("body", [
    pytest.param(b'{"decision": "reject", "approver": "\\ud800", "diff_hash": "%s"}', id="lone-surrogate-echoed"),
    pytest.param(b'{"decision": "reject", "approver": "\xed\xa0\x80", "diff_hash": "%s"}', id="not-utf-8"),
])
def test_what_the_fuzzer_found_is_a_clear_4xx(paused: tuple[ThreadedService, int, str], database_url: str,
                                               body: bytes) -> None:
    service, incident_id, diff_hash = paused
    reply = httpx.post(f"{service.url}/incidents/{incident_id}/approval", content=body % diff_hash.encode(),
                       headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}, timeout=30)
    assert reply.status_code in (403, 422), reply.text
    assert reply.json()["detail"]
    assert approval_rows(database_url, incident_id) == []
