"""`opsgraph bench kb`: the knowledge base at scale, on a scratch database. Prints figures, asserts nothing.

Ingests the starter runbooks plus N synthetic past-incident chunks (runbook sentences reshuffled with
workload, namespace and cluster names, so words and meanings overlap the way real history does), then
times hybrid searches with the retrieval question set and reports retrieval quality among the
distractors, for hybrid search and for each ranking alone.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from psycopg_pool import AsyncConnectionPool

from agents.knowledge.markdown import Chunk
from app.bench.intake import scratch_database
from app.db.migrate import migrate
from app.db.pool import connection_kwargs
from app.knowledge.ingest import ingest_starter_pack
from app.knowledge.quality import evaluate_retrieval, load_questions
from app.knowledge.setup import knowledge_base
from app.knowledge.store import KnowledgeBase, KnowledgeDocument
from app.settings import Settings

CHUNKS_PER_DOCUMENT = 20
SEED = 13


async def _sentences(kb: KnowledgeBase) -> list[str]:
    async with kb.connection() as conn:
        rows = await (await conn.execute("SELECT content FROM kb_chunks")).fetchall()
    text = " ".join(r["content"] for r in rows).replace("\n", " ")
    return [s.strip() + "." for s in text.split(". ") if len(s.strip()) > 20]


def synthetic_documents(sentences: list[str], chunks: int) -> list[KnowledgeDocument]:
    rng = random.Random(SEED)
    documents = []
    for d in range((chunks + CHUNKS_PER_DOCUMENT - 1) // CHUNKS_PER_DOCUMENT):
        cluster, namespace = f"cluster-{d % 7}", f"team-{d % 40}"
        items = []
        for c in range(min(CHUNKS_PER_DOCUMENT, chunks - d * CHUNKS_PER_DOCUMENT)):
            workload = f"svc-{rng.randrange(500)}"
            body = " ".join(rng.sample(sentences, 4))
            items.append(Chunk(f"incident {d * CHUNKS_PER_DOCUMENT + c}: {workload} in {namespace}",
                               f"Workload {workload} in namespace {namespace} on {cluster}. {body}"))
        documents.append(KnowledgeDocument(source="incident", doc_key=f"bench:{d}", title=f"synthetic history {d}",
                                           chunks=items, cluster=cluster, namespace=namespace, kind="Deployment"))
    return documents


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _bench(settings: Settings, conninfo: str, chunks: int, queries: int) -> dict[str, Any]:
    async with AsyncConnectionPool(conninfo, kwargs=connection_kwargs(False), open=False, min_size=1,
                                   max_size=2) as pool:
        await migrate(pool)
        kb = knowledge_base(settings, pool)
        started = time.perf_counter()
        await ingest_starter_pack(kb)
        starter_seconds = time.perf_counter() - started
        documents = synthetic_documents(await _sentences(kb), chunks)
        started = time.perf_counter()
        for document in documents:
            await kb.store(document)
        ingest_seconds = time.perf_counter() - started
        async with kb.connection() as conn:
            await conn.execute("ANALYZE kb_chunks, kb_vectors")
        questions = load_questions()
        for question in questions[:5]:  # warm the connection and the caches
            await kb.search(question.text)
        timings = []
        for i in range(queries):
            started = time.perf_counter()
            await kb.search(questions[i % len(questions)].text, limit=5)
            timings.append(time.perf_counter() - started)
        embed_started = time.perf_counter()
        for question in questions:
            await kb.embedder.embed([question.text])
        embed_ms = (time.perf_counter() - embed_started) / len(questions) * 1000
        quality = {mode: await evaluate_retrieval(kb, questions, filters=None, mode=mode)
                   for mode in ("hybrid", "meaning", "words")}
        counts = await kb.counts()
    return {"chunks": counts["chunks"], "documents": counts["documents"], "starter_seconds": starter_seconds,
            "ingested": sum(len(d.chunks) for d in documents), "ingest_seconds": ingest_seconds,
            "p50": _ms(timings, 0.50), "p95": _ms(timings, 0.95), "mean": statistics.mean(timings) * 1000,
            "embed_ms": embed_ms, "quality": quality, "queries": queries, "embedder": kb.embedder.name}


async def run_kb_bench(settings: Settings, *, chunks: int, queries: int) -> int:
    with scratch_database(settings) as conninfo:
        figures = await _bench(settings, conninfo, chunks, queries)
    rate = figures["ingested"] / figures["ingest_seconds"]
    print(f"knowledge base: {figures['chunks']} chunks in {figures['documents']} documents "
          f"(embedder {figures['embedder']})")
    print(f"ingest: {figures['ingested']} chunks in {figures['ingest_seconds']:.1f} s = {rate:.0f} chunks/s "
          f"(embedding, one transaction per {CHUNKS_PER_DOCUMENT}-chunk document); starter runbooks "
          f"{figures['starter_seconds'] * 1000:.0f} ms")
    print(f"hybrid search over {figures['chunks']} chunks, {figures['queries']} queries: p50 {figures['p50']:.1f} ms, "
          f"p95 {figures['p95']:.1f} ms, mean {figures['mean']:.1f} ms (query embedding {figures['embed_ms']:.2f} ms)")
    for mode, report in figures["quality"].items():
        print(f"{mode:>7} among all chunks: {report.line().removeprefix('retrieval: ')}")
    return 0
