"""The knowledge base as the settings describe it, and the `opsgraph kb` commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from agents.knowledge.embeddings import Embedder, OpenAIEmbedder, StaticEmbedder
from agents.knowledge.search import SearchFilters
from app.knowledge.ingest import IngestRejected, ingest_paths, markdown_files
from app.knowledge.store import KnowledgeBase
from app.settings import Settings


def embedder_from(settings: Settings) -> Embedder:
    """The configured endpoint when `OPSGRAPH_EMBEDDINGS_MODEL` is set, else the shipped static model."""
    if settings.embeddings_model is None:
        return StaticEmbedder()
    key = settings.embeddings_api_key or settings.openai_api_key
    return OpenAIEmbedder(settings.embeddings_model, base_url=settings.embeddings_base_url or settings.openai_base_url,
                          api_key=key.get_secret_value() if key else None)


def knowledge_base(settings: Settings, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]]) -> KnowledgeBase:
    return KnowledgeBase(pool, embedder_from(settings), acquire_timeout=settings.request_db_timeout_seconds)


async def run_kb_ingest(settings: Settings, paths: list[Path], out: TextIO = sys.stdout) -> int:
    """`opsgraph kb ingest PATH...`: one line per file; exit 1 when any file was refused (the rest went in)."""
    from app.db.lifecycle import open_database

    files: list[Path] = []
    refused = 0
    for path in paths:
        try:
            found = markdown_files(path)
        except IngestRejected as exc:
            print(f"rejected: {exc}", file=out)
            refused += 1
            continue
        if not found:
            print(f"rejected: {path}: no Markdown files (*.md, *.markdown) in this folder", file=out)
            refused += 1
        files.extend(found)
    if files:
        async with open_database(settings) as database:
            kb = knowledge_base(settings, database.pool)
            outcomes = await ingest_paths(kb, files, max_bytes=settings.kb_max_file_bytes)
            counts = await kb.counts()
        for outcome in outcomes:
            print(outcome.line, file=out)
        refused += sum(o.stored is None for o in outcomes)
        print(f"{len(outcomes) - sum(o.stored is None for o in outcomes)} ingested or unchanged, {refused} rejected; "
              f"the knowledge base holds {counts['chunks']} chunks in {counts['documents']} documents", file=out)
    return 1 if refused else 0


async def run_kb_search(settings: Settings, query: str, filters: SearchFilters, limit: int,
                        out: TextIO = sys.stdout) -> int:
    """`opsgraph kb search QUERY`: the hits as the search_knowledge tool would rank them."""
    from app.db.lifecycle import open_database

    async with open_database(settings) as database:
        hits = await knowledge_base(settings, database.pool).search(query, filters=filters, limit=limit)
    if not hits:
        print("no matches", file=out)
    for i, hit in enumerate(hits, 1):
        print(f"{i}. [{hit.source}] {hit.heading}  (score {hit.score:.4f}, chunk {hit.chunk_id})", file=out)
        print("   " + " ".join(hit.content.split())[:200], file=out)
    return 0


def run_kb_command(settings: Settings, command: str, args: Any) -> int:
    """Dispatch `opsgraph kb ingest|search`."""
    import asyncio

    if command == "ingest":
        return asyncio.run(run_kb_ingest(settings, [Path(p) for p in args.paths]))
    if command == "search":
        if not 1 <= args.limit <= 50:
            print("opsgraph: --limit must be between 1 and 50", file=sys.stderr)
            return 2
        filters = SearchFilters(source=args.source, skill=args.skill)
        return asyncio.run(run_kb_search(settings, args.query, filters, args.limit))
    raise ValueError(f"unknown kb command {command!r}")
