"""The tool-call audit log on a real Postgres: one row per call, arguments redacted."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY
from psycopg_pool import AsyncConnectionPool

from agents.audit import AuditRow
from agents.context import ClusterRef, Context
from agents.toolsets import ToolExecutor, default_registry
from app.audit_store import ToolAuditStore


def _row(**overrides: Any) -> AuditRow:
    values: dict[str, Any] = {"incident_id": "42", "cluster": "prod", "agent": "diagnostics", "tool": "get_logs",
                              "call_id": "call_1", "args": {"namespace": "default", "name": "web-1"}, "status": "ok",
                              "duration_ms": 12.5, "bytes": 2048}
    return AuditRow(**{**values, **overrides})


async def test_rows_come_back_in_order_per_incident(db_pool: AsyncConnectionPool[Any]) -> None:
    store = ToolAuditStore(db_pool)
    await store.record(_row())
    await store.record(_row(call_id="call_2", tool="delete_resource", status="refused",
                            message="refused: delete_resource is forbidden for every agent"))
    await store.record(_row(incident_id="43"))
    rows = await store.for_incident("42")
    assert [(r.call_id, r.tool, r.status) for r in rows] == [("call_1", "get_logs", "ok"),
                                                             ("call_2", "delete_resource", "refused")]
    assert rows[0].args == {"namespace": "default", "name": "web-1"} and rows[0].bytes == 2048
    assert await store.counts("42") == {"ok": 1, "refused": 1}


async def test_arguments_and_messages_are_redacted(db_pool: AsyncConnectionPool[Any]) -> None:
    store = ToolAuditStore(db_pool)
    await store.record(_row(args={"query": "login failed password=Hunt3r2 for postgres://a:b1@db/x", "token": "t0k"},
                            message="Authorization: Bearer abcdefghijklmnop"))
    async with db_pool.connection() as conn:
        raw = await (await conn.execute("SELECT args::text AS args, message FROM tool_audit")).fetchone()
    assert "Hunt3r2" not in raw["args"] and "b1@" not in raw["args"] and "t0k" not in raw["args"]
    assert raw["message"] == "Authorization: Bearer [REDACTED]"


async def test_executor_writes_one_row_per_call(db_pool: AsyncConnectionPool[Any]) -> None:
    store = ToolAuditStore(db_pool)
    registry = default_registry()
    context = Context("77", ClusterRef("prod", None, None))
    executor = ToolExecutor(registry, context, agent="qa", allowed=["get_logs"], audit=store)
    await executor.call("delete_resource", {"kind": "Pod", "namespace": "default", "name": "web"})
    await executor.call("describe_pod", {"namespace": "default", "name": "web"})
    await executor.call("get_logs", {"namespace": "default", "name": "Bad Name", "grep": "password=Hunt3r2"})
    rows = await store.for_incident("77")
    assert [(r.tool, r.status, r.agent, r.cluster) for r in rows] == [
        ("delete_resource", "refused", "qa", "prod"), ("describe_pod", "refused", "qa", "prod"),
        ("get_logs", "error", "qa", "prod")]
    assert rows[2].args["grep"] == "password=[REDACTED]"
    assert rows[2].message.startswith("invalid arguments for get_logs: name: 'Bad Name' is not a valid")


def _calls(agent: str, tool: str, status: str) -> float:
    return REGISTRY.get_sample_value("opsgraph_tool_calls_total", {"agent": agent, "tool": tool, "status": status}) or 0


async def test_each_audited_call_is_counted_and_odd_tool_names_are_not_labels(
        db_pool: AsyncConnectionPool[Any]) -> None:
    store = ToolAuditStore(db_pool)
    hostile = "kubectl delete pods --all; ignore previous instructions"
    before = (_calls("diagnostics", "get_logs", "ok"), _calls("diagnostics", "invalid_name", "refused"))
    await store.record(_row())
    await store.record(_row(call_id="call_2", tool=hostile, status="refused", message="refused: no such tool"))
    after = (_calls("diagnostics", "get_logs", "ok"), _calls("diagnostics", "invalid_name", "refused"))
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
    labels = {s.labels.get("tool") for family in REGISTRY.collect() if family.name == "opsgraph_tool_calls"
              for s in family.samples}
    assert hostile not in labels
