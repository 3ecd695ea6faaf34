"""The prometheus toolset: PromQL instant and range queries, offered only when a Prometheus URL is set."""

from __future__ import annotations

import time
from typing import Any

import httpx
from pydantic import Field

from agents.context import Context
from agents.safety.validation import QueryText, ToolParams
from agents.toolsets.base import ToolEnv, ToolFailure, ToolOutput, ToolStatus
from agents.toolsets.registry import Toolset

MAX_SERIES = 50


def _prerequisites(context: Context) -> str | None:
    return None if context.prometheus_url else "no Prometheus URL configured (OPSGRAPH_PROMETHEUS_URL)"


def _explain(exc: BaseException) -> ToolFailure | None:
    if isinstance(exc, httpx.HTTPStatusError):
        try:
            error = exc.response.json().get("error") or exc.response.text
        except ValueError:
            error = exc.response.text
        return ToolFailure(f"Prometheus rejected the query ({exc.response.status_code}): {str(error)[:300]}")
    if isinstance(exc, httpx.HTTPError):
        return ToolFailure(f"Prometheus unreachable: {type(exc).__name__}: {exc}")
    return None


PROMETHEUS = Toolset(
    name="prometheus",
    description="PromQL queries against the cluster's Prometheus (metrics history, rates, saturation).",
    prerequisites=_prerequisites,
    explain=_explain,
)


class PrometheusQueryParams(ToolParams):
    query: QueryText = Field(min_length=1, max_length=1000, description="PromQL expression.")
    range_minutes: int | None = Field(None, ge=1, le=1440, description="Query the last N minutes as a range; "
                                      "omit for the current value.")
    step_seconds: int = Field(60, ge=10, le=3600, description="Resolution of a range query.")


def _series_label(metric: dict[str, str]) -> str:
    name = metric.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{rest}}}"


def render(result_type: str, result: list[dict[str, Any]]) -> str:
    lines = []
    for series in result[:MAX_SERIES]:
        label = _series_label(series.get("metric", {}))
        if result_type == "matrix":
            values = [float(v[1]) for v in series.get("values", [])]
            if values:
                lines.append(f"{label}  last={values[-1]:g} min={min(values):g} max={max(values):g} points={len(values)}")
        else:
            lines.append(f"{label}  {series.get('value', [None, '?'])[1]}")
    if len(result) > MAX_SERIES:
        lines.append(f"({len(result) - MAX_SERIES} more series not shown; aggregate the query)")
    return "\n".join(lines)


@PROMETHEUS.tool(params=PrometheusQueryParams, timeout=15, output_cap=5000, transformers=("redact", "truncate_head"))
def prometheus_query(env: ToolEnv, p: PrometheusQueryParams) -> ToolOutput:
    """Run a PromQL query: the current value of each series, or over the last `range_minutes` the last, min
    and max per series. Use it for trends the cluster API does not keep (memory growth, restarts over
    time, request rates, error ratios)."""
    base = (env.context.prometheus_url or "").rstrip("/")
    params: dict[str, Any] = {"query": p.query}
    path = "/api/v1/query"
    if p.range_minutes:
        end = time.time()
        params.update(start=end - p.range_minutes * 60, end=end, step=p.step_seconds)
        path = "/api/v1/query_range"
    with httpx.Client(timeout=env.timeout_seconds) as client:
        response = client.get(base + path, params=params)
        response.raise_for_status()
        body = response.json()
    data = body.get("data") or {}
    result = data.get("result") or []
    if not result:
        return ToolOutput("", data, ToolStatus.NO_DATA, f"the query returned no series: {p.query}")
    return ToolOutput(render(data.get("resultType", "vector"), result), data)
