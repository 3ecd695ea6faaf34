"""The prometheus_query tool against a real Prometheus scraping simulated clusters: the questions a
diagnosing SRE asks of it (memory against the limit for an OOM, restarts, CPU throttling, volume usage)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from agents.toolsets import ToolStatus
from app.monitoring.pipeline import ScrapeTarget, start_monitoring
from sim.runtime import start_sim
from sim.scenario import find_scenario
from tests.agents.toolsets.conftest import context_for, executor_for
from tests.support.intake import wait_until
from tests.support.prometheus import require_prometheus

THROTTLED = Path(__file__).parent / "cpu_throttled.yaml"


async def test_prometheus_query_answers_from_the_real_pipeline() -> None:
    require_prometheus()
    with start_sim(find_scenario("oomkilled_limit_too_low")) as oom, start_sim(THROTTLED) as busy, \
            start_monitoring([ScrapeTarget(oom.url, "oom"), ScrapeTarget(busy.url, "busy")]) as pipeline:
        pipeline.wait_for_scrapes(6)
        context = context_for(oom, enabled_toolsets=frozenset({"kubernetes", "prometheus"}),
                              prometheus_url=pipeline.prometheus_url)
        executor, audit = executor_for(context)

        async def ask(query: str) -> str:
            result = await executor.call("prometheus_query", {"query": query})
            assert result.status is ToolStatus.OK, (query, result.text)
            return result.text

        # OOM: the container's last termination and its limit, side by side.
        text = await ask('kube_pod_container_status_last_terminated_reason{cluster="oom",reason="OOMKilled"}')
        assert 'namespace="webapp-backend"' in text and "backend-api-" in text
        limit = await ask('max by (container) (kube_pod_container_resource_limits{cluster="oom",'
                          'namespace="webapp-backend",resource="memory"})')
        assert limit.endswith(str(128 * 2**20))
        # Restarts of the crashing pods.
        restarts = await ask('sum by (pod) (kube_pod_container_status_restarts_total{cluster="oom",'
                             'namespace="webapp-backend"}) > 0')
        assert "backend-api-" in restarts
        # Throttling: needs two scrapes inside the rate window.
        throttling = ('sum(rate(container_cpu_cfs_throttled_periods_total{cluster="busy"}[30s])) / '
                      'sum(rate(container_cpu_cfs_periods_total{cluster="busy"}[30s]))')

        async def ratio() -> float | None:
            result = await executor.call("prometheus_query", {"query": throttling})
            return float(result.text.rsplit(" ", 1)[1]) if result.status is ToolStatus.OK else None

        assert await _poll(ratio) == 1.0  # 250m of demand against a 200m limit: every period throttled
        # Memory against the limit for a running container (working set over limit).
        used = await ask('max(container_memory_working_set_bytes{cluster="busy",container="cruncher"}) / '
                         'max(container_spec_memory_limit_bytes{cluster="busy",container="cruncher"})')
        assert abs(float(used.rsplit(" ", 1)[1]) - 20 / 64) < 0.01
        # Volume usage: the mounted claim's capacity and free space.
        # (Summed by namespace: the redactor reads the label pair `persistentvolumeclaim="work"` as base64.)
        volume = await ask('sum by (namespace) (kubelet_volume_stats_available_bytes{cluster="busy",'
                           'persistentvolumeclaim="work"}) / sum by (namespace) (kubelet_volume_stats_capacity_bytes'
                           '{cluster="busy",persistentvolumeclaim="work"})')
        assert volume == '{namespace="batch"}  1'
        assert len(audit.rows) >= 7 and {row.tool for row in audit.rows} == {"prometheus_query"}
        assert wait_until(lambda: pipeline.targets_up() == 6, timeout=5, what="all targets still up")


async def _poll(read: Callable[[], Awaitable[float | None]]) -> float:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        value = await read()
        if value is not None:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError("no throttling ratio within 30 s")
