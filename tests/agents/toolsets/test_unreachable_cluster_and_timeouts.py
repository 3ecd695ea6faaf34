"""An unreachable API or a slow tool comes back as an ERROR result quickly, never as an exception."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

from agents.context import ClusterRef, Context
from agents.safety.validation import Namespace, ToolParams
from agents.toolsets import ToolEnv, ToolOutput, ToolRegistry, Toolset, ToolStatus, default_registry
from agents.toolsets.kubernetes.failures import check_refs, explain
from agents.toolsets.kubernetes.reader import cluster_reader
from sim.runtime import RunningSim, start_sim
from tests.agents.toolsets.conftest import context_for, executor_for


async def test_stopped_cluster_is_reported_unreachable_within_seconds() -> None:
    running = start_sim("oom_memory_hog")
    executor, audit = executor_for(context_for(running))
    assert (await executor.call("list_pods", {"namespace": "default"})).status is ToolStatus.OK
    running.stop()
    started = time.monotonic()
    result = await executor.call("list_pods", {"namespace": "default"})
    assert time.monotonic() - started < 5
    assert result.status is ToolStatus.ERROR
    assert result.message.startswith("list_pods failed: cluster API unreachable: ")
    assert executor.cluster_unreachable
    assert [row.status for row in audit.rows] == ["ok", "error"]


async def test_each_incident_talks_to_its_own_cluster(oom_sim: RunningSim, planted_sim: RunningSim) -> None:
    first, _ = executor_for(context_for(oom_sim))
    second, _ = executor_for(context_for(planted_sim), clients=first.clients)
    assert (await first.call("list_pods", {"namespace": "payments"})).status is ToolStatus.ERROR
    assert (await second.call("list_pods", {"namespace": "payments"})).status is ToolStatus.OK


class _SlowParams(ToolParams):
    namespace: Namespace


async def test_slow_tool_times_out(oom_sim: RunningSim) -> None:
    release = threading.Event()
    toolset = Toolset("slow", description="test-only", explain=explain, check_refs=check_refs)

    @toolset.tool(params=_SlowParams, timeout=0.3)
    def slow_list(env: ToolEnv, p: _SlowParams) -> ToolOutput:
        """Lists pods, then hangs like an API server that stopped answering mid-response."""
        cluster_reader(env).list("Pod", p.namespace)
        release.wait(10)
        return ToolOutput("never seen")

    registry = ToolRegistry()
    registry.add_toolset(toolset)
    executor, audit = executor_for(dataclasses.replace(context_for(oom_sim), enabled_toolsets=frozenset({"slow"})),
                                   registry)
    started = time.monotonic()
    try:
        result = await executor.call("slow_list", {"namespace": "default"})
    finally:
        release.set()
    assert time.monotonic() - started < 2
    assert result.status is ToolStatus.ERROR
    assert result.message == "slow_list timed out after 0.3 s; try a narrower query or continue without it."
    assert not executor.cluster_unreachable
    assert audit.rows[0].status == "error"


async def test_cluster_without_credentials_is_unreachable(tmp_path: Path) -> None:
    context = Context("inc", ClusterRef("gone", tmp_path / "missing.kubeconfig", None))
    executor, _ = executor_for(context, default_registry())
    result = await executor.call("list_pods", {})
    assert result.status is ToolStatus.ERROR
    assert result.message.startswith("list_pods failed: cluster API unreachable: cluster 'gone' has no usable "
                                     "credentials")
    assert executor.cluster_unreachable
