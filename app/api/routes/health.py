"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from app.api.deps import DatabaseDep, Incidents
from app.db.migrate import latest_version, schema_version
from app.incidents.status import TERMINAL, IncidentStatus
from app.incidents.store import IncidentStore
from app.observability import LIVE_INCIDENTS, OLDEST_READY_WORK, WORK_ITEMS

router = APIRouter(tags=["health"])

READY_TIMEOUT_SECONDS = 2.0
GAUGE_READ_TIMEOUT_SECONDS = 1.0
GAUGE_MAX_AGE_SECONDS = 5.0  # Prometheus scrapes every 15-60 s; anything faster reuses the last read

log = logging.getLogger(__name__)


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str
    database: str
    schema_version: int | None
    expected_schema_version: int


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> HealthOut:
    """The process is alive and its event loop answers."""
    return HealthOut(status="ok")


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def readyz(database: DatabaseDep) -> Response:
    """Ready to take traffic: the database answers and the schema is current."""
    expected = latest_version()
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            async with database.pool.connection() as conn:
                version = await schema_version(conn)
    except Exception as exc:
        body = ReadyOut(status="unavailable", database=f"unreachable: {type(exc).__name__}",
                        schema_version=None, expected_schema_version=expected)
        return JSONResponse(body.model_dump(), status_code=503)
    ok = version == expected
    body = ReadyOut(status="ok" if ok else "unavailable", database="ok" if ok else "schema not current",
                    schema_version=version, expected_schema_version=expected)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


class StateGauges:
    """Refreshes the incident and queue gauges from the database, once at a time and at most every few
    seconds: /metrics is unauthenticated, and a flood of scrapes must not take the pool's connections
    from the webhook and the workers."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._fresh_until = 0.0

    async def refresh(self, incidents: IncidentStore) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            if loop.time() < self._fresh_until:
                return
            self._fresh_until = loop.time() + GAUGE_MAX_AGE_SECONDS  # failed or not: not again at once
            try:
                async with asyncio.timeout(GAUGE_READ_TIMEOUT_SECONDS):
                    live, backlog = await incidents.live_by_status(), await incidents.queue.backlog()
            except Exception as exc:  # the counters still matter while the database is away
                log.warning("metrics: incident and queue gauges not refreshed: %s: %s", type(exc).__name__, exc)
                return
        for status in IncidentStatus:
            if status not in TERMINAL:
                LIVE_INCIDENTS.labels(status.value).set(live.get(status.value, 0))
        WORK_ITEMS.clear()
        for (kind, state), count in backlog.items.items():
            WORK_ITEMS.labels(kind, state).set(count)
        OLDEST_READY_WORK.set(backlog.oldest_ready_seconds)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, incidents: Incidents) -> Response:
    """Prometheus metrics; incident and queue gauges are read from the database (at most every 5 s)."""
    await request.app.state.state_gauges.refresh(incidents)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
