"""search_knowledge through the executor, as QA and Diagnostics call it: quoted, scoped to the run's own
cluster, refused when the toolset is off, a clear error when no knowledge base is connected."""

from __future__ import annotations

import dataclasses

from agents.context import Context
from agents.knowledge.markdown import Chunk
from agents.toolsets import ToolStatus
from agents.toolsets.knowledge import QA_TOOLS
from app.knowledge.store import KnowledgeBase, KnowledgeDocument
from tests.agents.toolsets.conftest import executor_for


async def test_qa_reads_runbooks_and_only_its_own_clusters_incidents(full_context: Context,
                                                                    planted_kb: KnowledgeBase) -> None:
    for cluster in ("sim", "other-cluster"):
        await planted_kb.store(KnowledgeDocument(
            source="incident", doc_key=f"incident:test-{cluster}", title=f"payments-api on {cluster}",
            cluster=cluster, namespace="payments", kind="Deployment",
            chunks=[Chunk(f"incident on {cluster}", f"payments-api crash loop on {cluster}: the database was down")]))
    executor, audit = executor_for(full_context, agent="qa", knowledge=planted_kb)
    executor.allowed = frozenset(QA_TOOLS)
    result = await executor.call("search_knowledge", {"query": "payments-api crash loop database", "limit": 8})
    assert result.status is ToolStatus.OK, result.message
    assert "payments-api crash loop on sim" in result.text
    assert "other-cluster" not in result.text
    assert {hit["source"] for hit in result.data} == {"runbook", "incident"}
    assert result.as_model_content().startswith('<tool_output tool="search_knowledge"')
    only_incidents = await executor.call("search_knowledge", {"query": "payments-api database", "source": "incident"})
    assert [hit["source"] for hit in only_incidents.data] == ["incident"]
    refused = await executor.call("get_logs", {"namespace": "payments", "name": "x"})
    assert refused.status is ToolStatus.REFUSED and refused.message.startswith(
        "refused: get_logs is not allowed for the qa agent")
    assert [row.status for row in audit.rows] == ["ok", "ok", "refused"]


async def test_off_or_unconnected_knowledge_is_a_clear_answer(full_context: Context) -> None:
    off = dataclasses.replace(full_context, enabled_toolsets=frozenset({"kubernetes"}))
    executor, _ = executor_for(off)
    result = await executor.call("search_knowledge", {"query": "OOMKilled"})
    assert result.status is ToolStatus.REFUSED
    assert result.message == "refused: search_knowledge is not available: not in the enabled toolsets."
    executor, _ = executor_for(full_context)  # enabled, but this process has no knowledge base
    result = await executor.call("search_knowledge", {"query": "OOMKilled"})
    assert result.status is ToolStatus.ERROR
    assert result.message == "search_knowledge failed: the knowledge base is not connected in this process"
