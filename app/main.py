"""The FastAPI application: `create_app(settings)` and the lifespan that owns the resources."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from app.api.routes import health
from app.db.embedded import EmbeddedPostgresError
from app.db.lifecycle import open_database
from app.db.migrate import MigrationError
from app.db.pool import DatabaseUnavailable
from app.errors import StartupFailed
from app.observability import HTTP_LATENCY, HTTP_REQUESTS, request_id_var
from app.settings import Settings

log = logging.getLogger("opsgraph")
http_log = logging.getLogger("opsgraph.http")

_REQUEST_ID_MAX = 128


def create_app(settings: Settings) -> FastAPI:
    """Build the service; tests call this with their own settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _startup_step("database"), open_database(settings) as database:
            app.state.database = database
            log.info(
                "opsgraph ready",
                extra={"embedded_db": database.embedded, "schema_version": database.schema_version},
            )
            yield
            log.info("opsgraph stopping")

    app = FastAPI(title="opsgraph", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(health.router)
    app.middleware("http")(_request_context)
    return app


@asynccontextmanager
async def _startup_step(what: str) -> AsyncIterator[None]:
    """Turn the known start-up failures into one logged line and StartupFailed."""
    try:
        yield
    except (DatabaseUnavailable, MigrationError, EmbeddedPostgresError) as exc:
        log.error("opsgraph cannot start: %s", exc, extra={"step": what})
        raise StartupFailed(str(exc)) from None


async def _request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Give every request an id (the caller's X-Request-ID if sane), log it and count it."""
    incoming = request.headers.get("x-request-id", "")
    request_id = incoming if 0 < len(incoming) <= _REQUEST_ID_MAX and incoming.isprintable() else uuid.uuid4().hex
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        response.headers["X-Request-ID"] = request_id
        return response
    finally:
        elapsed = time.perf_counter() - started
        route = request.scope.get("route")
        # Label by route template, not raw path, so metric cardinality stays bounded.
        route_label = getattr(route, "path", "unmatched")
        HTTP_REQUESTS.labels(request.method, route_label, str(status)).inc()
        HTTP_LATENCY.labels(request.method, route_label).observe(elapsed)
        if route_label not in ("/healthz", "/metrics"):
            http_log.info(
                "request",
                extra={"method": request.method, "path": request.url.path, "status": status,
                       "ms": round(elapsed * 1000, 1)},
            )
        request_id_var.reset(token)
