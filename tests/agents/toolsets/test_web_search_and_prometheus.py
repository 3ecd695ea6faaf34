"""The optional toolsets: a web query leaves redacted; Prometheus results read as series."""

from __future__ import annotations

from agents.context import Context
from agents.toolsets import ToolStatus
from tests.agents.toolsets.conftest import FakeTavily, executor_for


async def test_web_search_query_is_redacted_before_it_leaves(full_context: Context, fake_tavily: type[FakeTavily]) -> None:
    executor, _ = executor_for(full_context)
    result = await executor.call("web_search", {"query": "login fails with password=Hunt3r2 on postgres", "max_results": 2})
    assert result.status is ToolStatus.OK and len(result.data) == 2
    assert fake_tavily.queries[-1] == "login fails with password=[REDACTED] on postgres"
    assert result.args["query"] == "login fails with password=[REDACTED] on postgres"


async def test_prometheus_series_are_listed_with_their_values(full_context: Context) -> None:
    executor, _ = executor_for(full_context)
    result = await executor.call("prometheus_query", {"query": "container_memory_working_set_bytes"})
    assert result.status is ToolStatus.OK
    first = result.text.splitlines()[0]
    assert first.startswith('container_memory_working_set_bytes{dsn="postgres://app:[REDACTED]@db:5432/pay"')
    assert first.endswith("  1000")
    assert len(result.data["result"]) == 40
    assert result.truncated and result.text.endswith("chars cut …]")  # 40 long series exceed the 5000-char cap
