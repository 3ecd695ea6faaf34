"""POST /webhooks/github over real HTTP on a real Postgres: signatures, merges, rejections, redeliveries."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from app.main import create_app
from app.settings import Settings
from tests.support.intake import ThreadedService
from tests.support.verification import (
    MERGE_COMMIT, REPO, WEBHOOK_SECRET, deliver, incident, pr_event, seed_incident, sign,
)


@pytest.fixture
def service(settings: Settings) -> Iterator[ThreadedService]:
    configured = settings.model_copy(update={"github_webhook_secret": SecretStr(WEBHOOK_SECRET), "workers": 0,
                                             "webhook_max_body_bytes": 4096})
    with ThreadedService(lambda: create_app(configured)) as running:
        yield running


def _statuses(row: dict[str, object]) -> list[tuple[str, str]]:
    return [(e["data"]["from"], e["data"]["to"]) for e in row["timeline"] if e["kind"] == "status"]  # type: ignore[index, union-attr]


BODY = json.dumps(pr_event(1, "opsgraph/1-x", merged=True)).encode()


@pytest.mark.parametrize("signature", [
    pytest.param("", id="missing"),
    pytest.param(sign(BODY, "another-secret"), id="other-secret"),
    pytest.param(sign(BODY).removeprefix("sha256="), id="no-sha256-prefix"),
    pytest.param(sign(b"{}"), id="signs-another-body"),
    pytest.param("sha1=" + "0" * 40, id="sha1"),
])
def test_bad_signature_is_401_and_changes_nothing(service: ThreadedService, database_url: str, signature: str) -> None:
    incident_id = seed_incident(database_url)
    body = json.dumps(pr_event(1, f"opsgraph/{incident_id}-x", merged=True)).encode()
    reply = deliver(service.url, "pull_request", body, signature=signature or "")
    assert reply.status_code == 401
    assert reply.json()["detail"] == ("missing or wrong X-Hub-Signature-256 (HMAC-SHA256 of the body with the "
                                      "webhook secret)")
    row = incident(database_url, incident_id)
    assert row["status"] == "remediating" and row["timeline"] == [] and row["work"] == []


def test_unset_secret_is_503_saying_so(settings: Settings) -> None:
    with ThreadedService(lambda: create_app(settings.model_copy(update={"workers": 0}))) as bare:
        reply = deliver(bare.url, "ping", {"zen": "Keep it logically awesome."})
    assert reply.status_code == 503
    assert reply.json()["detail"] == ("the GitHub webhook is disabled: OPSGRAPH_GITHUB_WEBHOOK_SECRET is not "
                                      "configured")


def test_ping_malformed_and_oversized(service: ThreadedService) -> None:
    pong = deliver(service.url, "ping", {"zen": "Design for failure.", "hook_id": 7})
    assert (pong.status_code, pong.json()["outcome"]) == (200, "pong")
    assert deliver(service.url, "pull_request", b"{not json").status_code == 422
    missing = deliver(service.url, "pull_request", {"action": "closed", "number": 1})
    assert missing.status_code == 422
    assert {tuple(e["loc"]) for e in missing.json()["detail"]} == {("body", "pull_request"), ("body", "repository")}
    assert deliver(service.url, "pull_request", b" " * 5000).status_code == 413


def test_unrelated_pull_request_is_202_and_changes_nothing(service: ThreadedService, database_url: str) -> None:
    incident_id = seed_incident(database_url)
    for payload in (pr_event(99, "feature/other", merged=True),            # no incident has PR 99 or that branch
                    pr_event(1, f"opsgraph/{incident_id}-x", merged=True, repo="acme/other")):  # same number, other repo
        reply = deliver(service.url, "pull_request", payload)
        assert reply.status_code == 202
        assert reply.json()["outcome"] == "ignored" and reply.json()["incident_id"] is None
    assert deliver(service.url, "push", {"ref": "refs/heads/main"}).status_code == 202
    opened = deliver(service.url, "pull_request", pr_event(1, "x", merged=False, action="opened"))
    assert (opened.status_code, opened.json()["outcome"]) == (202, "ignored")
    row = incident(database_url, incident_id)
    assert row["status"] == "remediating" and row["timeline"] == [] and row["work"] == []


def test_merge_starts_verification_once_however_often_it_is_delivered(service: ThreadedService,
                                                                       database_url: str) -> None:
    incident_id = seed_incident(database_url)
    event = pr_event(1, f"opsgraph/{incident_id}-raise-memory-limit", merged=True)
    first = deliver(service.url, "pull_request", event, delivery="d-1")
    assert first.status_code == 200, first.text
    assert first.json() == {"outcome": "verifying", "incident_id": incident_id,
                            "message": f"pull request #1 ({REPO}) merged; incident {incident_id} is verifying"}
    again = deliver(service.url, "pull_request", event, delivery="d-1")  # GitHub's "Redeliver"
    assert again.json()["outcome"] == "duplicate" and again.json()["incident_id"] == incident_id
    other = deliver(service.url, "pull_request", event, delivery="d-2")  # same state, new delivery id
    assert other.json() == {"outcome": "unchanged", "incident_id": incident_id,
                            "message": f"pull request #1 ({REPO}) merged; incident {incident_id} is already verifying"}

    row = incident(database_url, incident_id)
    assert row["status"] == "verifying" and row["status_reason"] == "fix merged; verifying"
    assert _statuses(row) == [("remediating", "verifying")]
    merged = [e for e in row["timeline"] if e["kind"] == "pr_merged"]
    assert len(merged) == 1 and merged[0]["actor"] == "github"
    assert merged[0]["message"] == "pull request #1 merged by alice; verifying the workload"
    assert merged[0]["data"]["merge_commit"] == MERGE_COMMIT
    assert row["work"] == [{"kind": "verify", "status": "queued"}]


def test_closed_without_merge_is_recorded_as_rejected(service: ThreadedService, database_url: str) -> None:
    incident_id = seed_incident(database_url)
    event = pr_event(1, f"opsgraph/{incident_id}-raise-memory-limit", merged=False)
    reply = deliver(service.url, "pull_request", event)
    assert (reply.status_code, reply.json()["outcome"]) == (200, "rejected")
    assert deliver(service.url, "pull_request", event).json()["outcome"] == "unchanged"
    row = incident(database_url, incident_id)
    assert row["status"] == "awaiting_human" and row["status_reason"] == "pull request closed without merging"
    assert _statuses(row) == [("remediating", "awaiting_human")]
    (rejected,) = [e for e in row["timeline"] if e["kind"] == "pr_rejected"]
    assert rejected["message"] == (f"pull request #1 ({REPO}) was closed without merging by alice: the change was "
                                   f"rejected; incident {incident_id} waits for a person")
    assert row["work"] == []


def test_pull_request_opened_by_hand_is_found_by_its_branch(service: ThreadedService, database_url: str) -> None:
    """No token: the runner pushed the branch only (number None); a person opened PR #12 from it."""
    incident_id = seed_incident(database_url, number=None)
    reply = deliver(service.url, "pull_request", pr_event(12, f"opsgraph/{incident_id}-raise-memory-limit",
                                                          merged=True))
    assert (reply.json()["outcome"], reply.json()["incident_id"]) == ("verifying", incident_id)
    assert incident(database_url, incident_id)["status"] == "verifying"
