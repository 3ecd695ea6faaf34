"""Feedback moves a chunk up or down; HumanHelp answers become knowledge (redacted); an OpenAI-compatible
embeddings endpoint, when configured, embeds instead of the shipped model."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from agents.knowledge.embeddings import STATIC_NAME, OpenAIEmbedder, StaticEmbedder
from agents.knowledge.search import SearchFilters
from app.knowledge.ingest import ingest_starter_pack
from app.knowledge.setup import embedder_from
from app.knowledge.store import KnowledgeBase
from app.settings import Settings

QUESTION = "Pods are Pending with FailedScheduling Insufficient memory"


async def test_thumbs_down_sinks_a_chunk_and_thumbs_up_lifts_one(kb: KnowledgeBase) -> None:
    await ingest_starter_pack(kb)
    before = await kb.search(QUESTION, limit=5)
    top, third = before[0], before[2]
    for _ in range(3):
        await kb.feedback(top.chunk_id, helpful=False, actor="alice", incident_id=None)
    after_down = await kb.search(QUESTION, limit=20)
    assert after_down[0].chunk_id != top.chunk_id
    assert {h.chunk_id: h.score for h in after_down}.get(top.chunk_id, 0.0) < top.score / 1.3
    for _ in range(3):
        assert await kb.feedback(third.chunk_id, helpful=True, actor="bob") > 0
    after_up = await kb.search(QUESTION, limit=5)
    assert after_up[0].chunk_id == third.chunk_id
    with pytest.raises(LookupError, match="no knowledge chunk 999999"):
        await kb.feedback(999999, helpful=True, actor="bob")


async def test_a_human_answer_is_searchable_scoped_and_redacted(kb: KnowledgeBase, database_url: str) -> None:
    stored = await kb.remember_human_answer(
        incident_id=7, question="Why does ledger-sync fail every night at 02:00?",
        answer="The nightly backup locks the ledger table; move ledger-sync to 03:00. "
               "(db password: Sup3rSecretLedgerPw)", answered_by="carol", cluster="prod", namespace="finance",
        kind="CronJob", skill="job_failed")
    assert stored.outcome == "added" and stored.doc_key.startswith("human_help:7:")
    hits = await kb.search("ledger-sync nightly failure backup lock", filters=SearchFilters(cluster="prod"))
    assert hits[0].source == "human_help" and "move ledger-sync to 03:00" in hits[0].content
    assert await kb.search("ledger-sync nightly failure", filters=SearchFilters(cluster="staging")) == []
    assert await kb.search("ledger-sync nightly failure", filters=SearchFilters(namespace="web")) == []
    with psycopg.connect(database_url) as conn:
        text = json.dumps(conn.execute("SELECT heading, content FROM kb_chunks").fetchall())
    assert "Sup3rSecretLedgerPw" not in text
    again = await kb.remember_human_answer(incident_id=7, question="Why does ledger-sync fail every night at 02:00?",
                                           answer="The nightly backup locks the ledger table; move ledger-sync to "
                                                  "03:00. (db password: Sup3rSecretLedgerPw)", answered_by="carol",
                                           cluster="prod", namespace="finance", kind="CronJob", skill="job_failed")
    assert again.outcome == "unchanged"
    with pytest.raises(ValueError, match="an empty answer is not knowledge"):
        await kb.remember_human_answer(incident_id=7, question="q", answer="  ", answered_by="carol")


def _vector(text: str, dims: int = 64) -> list[float]:
    """The stand-in's embedding: hashed word counts, so texts sharing words are close."""
    vector = [0.0] * dims
    for word in text.lower().split():
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dims] += 1.0
    return vector


class _Embeddings(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        _Embeddings.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        data = [{"object": "embedding", "index": i, "embedding": _vector(text)} for i, text in enumerate(body["input"])]
        payload = json.dumps({"object": "list", "data": data, "model": body["model"],
                              "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def embeddings_endpoint() -> Iterator[str]:
    _Embeddings.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Embeddings)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_configured_endpoint_embeds_and_its_vectors_are_kept_apart(
        kb: KnowledgeBase, settings: Settings, embeddings_endpoint: str, database_url: str) -> None:
    assert isinstance(embedder_from(settings), StaticEmbedder)
    configured = settings.model_copy(update={"embeddings_model": "nomic-embed-text",
                                             "embeddings_base_url": embeddings_endpoint,
                                             "embeddings_api_key": SecretStr("emb-key")})
    endpoint = embedder_from(configured)
    assert isinstance(endpoint, OpenAIEmbedder) and endpoint.name == "openai:nomic-embed-text"
    remote = KnowledgeBase(kb.pool, endpoint)
    await ingest_starter_pack(kb)  # the shipped model's vectors first
    outcomes = await ingest_starter_pack(remote)  # same text, another embedder: embedded again
    assert {o.stored.outcome for o in outcomes if o.stored} == {"replaced"}
    assert _Embeddings.requests[0]["path"] == "/v1/embeddings"
    assert _Embeddings.requests[0]["model"] == "nomic-embed-text"
    assert _Embeddings.requests[0]["auth"] == "Bearer emb-key"
    hits = await remote.search("Readiness probe failed with HTTP status code 404", limit=3)
    assert hits and hits[0].skill == "probes"
    with psycopg.connect(database_url) as conn:
        embedders = {r[0] for r in conn.execute("SELECT DISTINCT embedder FROM kb_vectors")}
    assert embedders == {"openai:nomic-embed-text"} and STATIC_NAME not in embedders
