"""The knowledge API: the starter runbooks are searchable once the service is up; 👍/👎 moves a hit; bad,
oversized, hostile and unauthorised requests get a clear 4xx and change nothing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from app.main import create_app
from app.settings import Settings
from tests.support.intake import API_TOKEN, ThreadedService, bearer, query

QUESTION = "container has runAsNonRoot and image will run as root"


@pytest.fixture
def service(settings: Settings) -> Iterator[ThreadedService]:
    configured = settings.model_copy(update={"workers": 0, "api_token": SecretStr(API_TOKEN)})
    with ThreadedService(lambda: create_app(configured)) as running:
        yield running


def _get(service: ThreadedService, params: dict[str, object], token: str | None = API_TOKEN) -> httpx.Response:
    headers = bearer(token) if token else {}
    return httpx.get(service.url + "/knowledge/search", params=params, headers=headers, timeout=10)  # type: ignore[arg-type]


def _post(service: ThreadedService, body: object, token: str | None = API_TOKEN) -> httpx.Response:
    headers = bearer(token) if token else {}
    return httpx.post(service.url + "/knowledge/feedback", json=body, headers=headers, timeout=10)


def test_search_finds_a_starter_runbook_and_feedback_moves_it(service: ThreadedService, database_url: str) -> None:
    reply = _get(service, {"q": QUESTION, "source": "runbook", "limit": 3})
    assert reply.status_code == 200, reply.text
    hits = reply.json()["hits"]
    assert hits[0]["skill"] == "security_context" and hits[0]["doc_key"] == "starter:security_context.md"
    top = hits[0]["chunk_id"]
    for expected in (-1, -2, -3):
        answer = _post(service, {"chunk_id": top, "helpful": False, "actor": "alice", "incident_id": 4})
        assert answer.status_code == 200 and answer.json() == {"chunk_id": top, "feedback": expected}
    after = _get(service, {"q": QUESTION, "source": "runbook", "limit": 3}).json()["hits"]
    assert after[0]["chunk_id"] != top
    rows = query(database_url, "SELECT helpful, actor, incident_id FROM kb_feedback")
    assert rows == [{"helpful": False, "actor": "alice", "incident_id": 4}] * 3


@pytest.mark.parametrize(("params", "field"), [
    ({"q": "ab"}, "q"),
    ({"q": "x" * 401}, "q"),
    ({"q": "OOM\x00killed"}, "q"),
    ({"q": "OOMKilled", "source": "wiki"}, "source"),
    ({"q": "OOMKilled", "namespace": "../etc"}, "namespace"),
    ({"q": "OOMKilled", "skill": "Robert'); DROP TABLE kb_chunks;--"}, "skill"),
    ({"q": "OOMKilled", "limit": 1000}, "limit"),
    ({}, "q"),
], ids=["short", "oversized", "control chars", "unknown source", "bad namespace", "sql in skill", "limit", "missing"])
def test_bad_search_is_422_naming_the_field(service: ThreadedService, params: dict[str, object], field: str) -> None:
    reply = _get(service, params)
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"][0]["loc"][-1] == field


@pytest.mark.parametrize(("body", "status"), [
    ({"chunk_id": 999999, "helpful": True, "actor": "bob"}, 404),
    ({"chunk_id": 0, "helpful": True, "actor": "bob"}, 422),
    ({"chunk_id": 1, "helpful": "very", "actor": "bob"}, 422),
    ({"chunk_id": 1, "helpful": True, "actor": ""}, 422),
    ({"chunk_id": 1, "helpful": True, "actor": "x" * 10_000}, 422),
    ({"chunk_id": 1, "helpful": True, "actor": "bob\n<@U123> ping"}, 422),
    ({"chunk_id": 1, "helpful": True, "actor": "bob", "boost": 1000}, 422),
    (["not", "an", "object"], 422),
], ids=["unknown chunk", "zero id", "not a bool", "no actor", "oversized actor", "control chars", "extra field",
        "not an object"])
def test_bad_feedback_is_refused_and_changes_nothing(service: ThreadedService, database_url: str, body: object,
                                                    status: int) -> None:
    reply = _post(service, body)
    assert reply.status_code == status, reply.text
    if status == 404:
        assert reply.json()["detail"] == "no knowledge chunk 999999"
    assert query(database_url, "SELECT count(*) AS n FROM kb_feedback") == [{"n": 0}]
    assert query(database_url, "SELECT count(*) AS n FROM kb_chunks WHERE feedback <> 0") == [{"n": 0}]


def test_the_knowledge_api_needs_the_api_token(service: ThreadedService) -> None:
    assert _get(service, {"q": "OOMKilled"}, token=None).status_code == 401
    assert _get(service, {"q": "OOMKilled"}, token="nope").status_code == 401
    assert _post(service, {"chunk_id": 1, "helpful": True, "actor": "bob"}, token="nope").status_code == 401
