"""`opsgraph kb ingest`: oversized, binary, non-UTF-8, empty and malformed files are refused with one clear
sentence each and nothing of them is stored; a duplicate is skipped; a failure mid-document stores nothing."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from agents.knowledge.embeddings import OpenAIEmbedder
from app.knowledge.ingest import ingest_paths
from app.knowledge.setup import run_kb_ingest
from app.knowledge.store import KnowledgeBase
from app.settings import Settings

GOOD = "# Disk full\n\n## Fix\nExpand the claim when its StorageClass allows volume expansion.\n"


def _write(folder: Path, name: str, content: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _rows(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        documents = conn.execute("SELECT count(*) FROM kb_documents").fetchone()
        chunks = conn.execute("SELECT count(*) FROM kb_chunks").fetchone()
    assert documents is not None and chunks is not None
    return {"documents": documents[0], "chunks": chunks[0]}


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.md", b"", "empty file"),
    ("blank.md", "\n\n   \n", "no text to ingest (only headings or whitespace)"),
    ("headings.md", "# Title\n## Only headings\n", "no text to ingest (only headings or whitespace)"),
    ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file (NUL bytes); only UTF-8 Markdown is ingested"),
    ("latin1.md", "# Caf\xe9\n\nServeur arr\xeat\xe9.\n".encode("latin-1"),
     "not UTF-8 (invalid byte 0xe9 at offset 5); convert it to UTF-8 first"),
    ("oversized.md", "# Big\n\n" + "x" * 2000, "2007 bytes is over the 1000-byte limit (OPSGRAPH_KB_MAX_FILE_BYTES)"),
    ("front.md", "---\nskill: [oops\n---\n# T\n\ntext\n", "front matter is not valid YAML: while parsing a flow sequence"),
    ("unknown_key.md", "---\nowner: me\n---\n# T\n\ntext\n", "front matter: owner: Extra inputs are not permitted"),
    ("unclosed.md", "---\nskill: storage\n# T\n\ntext\n", "front matter opened with --- is never closed"),
], ids=lambda v: v if isinstance(v, str) and v.endswith(".md") else "")
async def test_a_bad_file_is_refused_with_a_clear_message_and_stores_nothing(
        kb: KnowledgeBase, tmp_path: Path, database_url: str, name: str, content: bytes | str, message: str) -> None:
    bad = _write(tmp_path, name, content)
    good = _write(tmp_path, "good.md", GOOD)
    outcomes = await ingest_paths(kb, [bad, good], max_bytes=1000)
    assert outcomes[0].stored is None and outcomes[0].error == message, outcomes[0].line
    assert outcomes[0].line == f"{bad}: rejected: {message}"
    assert outcomes[1].stored is not None and outcomes[1].stored.outcome == "added"  # the good file still goes in
    assert _rows(database_url) == {"documents": 1, "chunks": 1}


async def test_duplicate_and_repeated_ingest_are_no_ops_and_a_change_replaces(
        kb: KnowledgeBase, tmp_path: Path, database_url: str) -> None:
    first = _write(tmp_path, "disk.md", GOOD)
    copy = _write(tmp_path, "copy-of-disk.md", GOOD)
    (added,) = await ingest_paths(kb, [first])
    again, duplicate = await ingest_paths(kb, [first, copy])
    assert added.stored and added.stored.outcome == "added"
    assert again.line == f"{first.resolve()}: unchanged (same content already ingested)"
    assert duplicate.line == f"{copy.resolve()}: skipped, the same content is already ingested as {first.resolve()}"
    assert _rows(database_url) == {"documents": 1, "chunks": 1}
    first.write_text(GOOD + "\n## Prevention\nAlert at 80% full.\n")
    (changed,) = await ingest_paths(kb, [first])
    assert changed.stored and changed.stored.outcome == "replaced" and changed.stored.chunks == 2
    assert _rows(database_url) == {"documents": 1, "chunks": 2}


class _BrokenEmbeddings(BaseHTTPRequestHandler):
    """An OpenAI-compatible /embeddings endpoint that fails, like a local server that ran out of memory."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"error": {"message": "model crashed", "type": "server_error"}}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def broken_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BrokenEmbeddings)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


async def test_an_embedding_failure_stores_nothing_of_the_document(
        kb: KnowledgeBase, broken_endpoint: str, tmp_path: Path, database_url: str) -> None:
    path = _write(tmp_path, "disk.md", GOOD)
    await ingest_paths(kb, [path])
    path.write_text(GOOD + "\n## More\nA second section that would replace the first version.\n")
    broken = KnowledgeBase(kb.pool, OpenAIEmbedder("embed-small", base_url=broken_endpoint, api_key="k"))
    (outcome,) = await ingest_paths(broken, [path])
    assert outcome.stored is None and outcome.error is not None
    assert outcome.error.startswith("not stored: embeddings endpoint failed for openai:embed-small: ")
    assert "model crashed" in outcome.error
    assert _rows(database_url) == {"documents": 1, "chunks": 1}  # the old version, whole


async def test_the_command_prints_a_line_per_file_and_exits_1_when_any_was_refused(
        settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    _write(folder, "a.md", GOOD)
    _write(folder, "b.md", b"\xff\xfe\x00bad")
    _write(folder, "notes.txt", "ignored: not Markdown")
    out = io.StringIO()
    code = await run_kb_ingest(settings, [folder, tmp_path / "missing"], out)
    lines = out.getvalue().splitlines()
    assert code == 1
    assert lines[0] == f"rejected: {tmp_path / 'missing'}: no such file or folder"
    assert lines[1] == f"{(folder / 'a.md').resolve()}: added, 1 chunks"
    assert lines[2] == f"{folder / 'b.md'}: rejected: binary file (NUL bytes); only UTF-8 Markdown is ingested"
    assert lines[3].startswith("1 ingested or unchanged, 2 rejected; the knowledge base holds 1 chunks")


async def test_two_replicas_storing_the_same_runbook_at_once_store_it_once(
        kb: KnowledgeBase, tmp_path: Path, database_url: str) -> None:
    import asyncio

    from app.knowledge.ingest import read_runbook

    document = read_runbook(_write(tmp_path, "disk.md", GOOD), doc_key="starter:disk.md")
    other = KnowledgeBase(kb.pool, kb.embedder)  # another process's KnowledgeBase on the same database
    outcomes = await asyncio.gather(kb.store(document), other.store(document))
    assert sorted(o.outcome for o in outcomes) == ["added", "unchanged"]
    assert _rows(database_url) == {"documents": 1, "chunks": 1}
