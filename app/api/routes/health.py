"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from app.api.deps import DatabaseDep
from app.db.migrate import latest_version, schema_version

router = APIRouter(tags=["health"])

READY_TIMEOUT_SECONDS = 2.0


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


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
