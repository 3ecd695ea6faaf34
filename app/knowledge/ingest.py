"""Markdown runbooks from files into the knowledge base: `opsgraph kb ingest PATH` and the starter pack.

Every file is checked before anything is stored: empty, oversized, binary and non-UTF-8 files, and
files with a broken front matter, are refused with one sentence each, and nothing of them is stored.
Each accepted file is stored in one transaction (all its chunks or none; an embeddings endpoint that
fails stores nothing of the file); the same content again is a no-op, and the same content under
another path is reported as a duplicate and skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from agents.knowledge import RUNBOOKS_DIR
from agents.knowledge.embeddings import EmbeddingError
from agents.knowledge.markdown import chunk_markdown, title_of
from app.knowledge.store import KnowledgeBase, KnowledgeDocument, Stored

STARTER_DIR = RUNBOOKS_DIR
MARKDOWN_SUFFIXES = (".md", ".markdown")
DEFAULT_MAX_BYTES = 1_048_576
_SNIFF_BYTES = 8192


class IngestRejected(ValueError):
    """A file that cannot be ingested; the message names the file and why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


class FrontMatter(BaseModel):
    """Optional `---` YAML block at the top of a runbook: metadata its chunks carry for filtering."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    skill: str | None = None
    cluster: str | None = None
    namespace: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class FileOutcome:
    path: Path
    stored: Stored | None  # None: rejected
    error: str | None = None

    @property
    def line(self) -> str:
        return self.stored.message if self.stored is not None else f"{self.path}: rejected: {self.error}"


def markdown_files(path: Path) -> list[Path]:
    """A file as given, or every Markdown file under a folder (sorted); a missing path is refused."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MARKDOWN_SUFFIXES)
    raise IngestRejected(path, "no such file or folder")


def read_runbook(path: Path, *, doc_key: str, max_bytes: int = DEFAULT_MAX_BYTES) -> KnowledgeDocument:
    """Check and parse one file; IngestRejected says what is wrong with it."""
    size = path.stat().st_size
    if size == 0:
        raise IngestRejected(path, "empty file")
    if size > max_bytes:
        raise IngestRejected(path, f"{size} bytes is over the {max_bytes}-byte limit (OPSGRAPH_KB_MAX_FILE_BYTES)")
    raw = path.read_bytes()
    if b"\x00" in raw[:_SNIFF_BYTES]:
        raise IngestRejected(path, "binary file (NUL bytes); only UTF-8 Markdown is ingested")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestRejected(path, f"not UTF-8 (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                             "convert it to UTF-8 first") from None
    meta, body = _front_matter(path, text.lstrip("\ufeff"))
    title = meta.title or title_of(body, path.stem.replace("_", " "))
    chunks = chunk_markdown(body, title)
    if not chunks:
        raise IngestRejected(path, "no text to ingest (only headings or whitespace)")
    return KnowledgeDocument(source="runbook", doc_key=doc_key, title=title, chunks=chunks, skill=meta.skill,
                             cluster=meta.cluster, namespace=meta.namespace, kind=meta.kind)


def _front_matter(path: Path, text: str) -> tuple[FrontMatter, str]:
    if not text.startswith("---\n"):
        return FrontMatter(), text
    end = text.find("\n---", 4)
    if end < 0:
        raise IngestRejected(path, "front matter opened with --- is never closed")
    try:
        data = yaml.safe_load(text[4:end]) or {}
        if not isinstance(data, dict):
            raise IngestRejected(path, "front matter must be a mapping of keys to values")
        meta = FrontMatter.model_validate(data)
    except yaml.YAMLError as exc:
        raise IngestRejected(path, f"front matter is not valid YAML: {str(exc).splitlines()[0]}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise IngestRejected(path, f"front matter: {where}: {first['msg']}") from None
    return meta, text[end + 4:].lstrip("\n")


async def ingest_paths(kb: KnowledgeBase, paths: Iterable[Path], *, max_bytes: int = DEFAULT_MAX_BYTES,
                       key_root: Path | None = None) -> list[FileOutcome]:
    """Ingest each file on its own: a bad file is refused whole and does not stop the others.
    `doc_key` is the path relative to `key_root` (the starter pack) or the absolute path."""
    outcomes = []
    for path in paths:
        key = str(path.relative_to(key_root)) if key_root else str(path.resolve())
        try:
            document = read_runbook(path, doc_key=key if not key_root else f"starter:{key}", max_bytes=max_bytes)
        except (IngestRejected, OSError) as exc:
            outcomes.append(FileOutcome(path, None, exc.reason if isinstance(exc, IngestRejected)
                                        else f"cannot read: {exc.strerror or exc}"))
            continue
        try:
            outcomes.append(FileOutcome(path, await kb.store(document)))
        except EmbeddingError as exc:  # nothing of this file was stored; the next may fare better
            outcomes.append(FileOutcome(path, None, f"not stored: {exc}"))
    return outcomes


async def ingest_starter_pack(kb: KnowledgeBase) -> list[FileOutcome]:
    """The shipped runbooks (one per domain skill); run at start-up, a no-op once they are in."""
    return await ingest_paths(kb, markdown_files(STARTER_DIR), key_root=STARTER_DIR)
