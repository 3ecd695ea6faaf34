"""Run the service under uvicorn with graceful shutdown and one-line start-up failures."""

from __future__ import annotations

import logging

import uvicorn

from app.errors import StartupFailed
from app.main import create_app
from app.runner import build_incident_runner
from app.observability import configure_logging
from app.settings import Settings


class _HideStartupTraceback(logging.Filter):
    """uvicorn logs a lifespan failure with its traceback; ours was already said in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        # Starlette hands uvicorn the traceback as text, so match on the exception's name too.
        return not isinstance(exc, StartupFailed) and StartupFailed.__name__ not in str(record.msg)


def build_server(settings: Settings, *, port: int | None = None) -> uvicorn.Server:
    configure_logging(settings.log_level, settings.log_format)
    logging.getLogger("uvicorn.error").addFilter(_HideStartupTraceback())
    config = uvicorn.Config(
        create_app(settings, runner_factory=build_incident_runner),
        host=settings.host,
        port=settings.port if port is None else port,
        log_config=None,  # our handlers, configured above
        lifespan="on",
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        server_header=False,
    )
    return uvicorn.Server(config)


def run_service(settings: Settings) -> int:
    server = build_server(settings)
    server.run()
    # uvicorn returns without raising when the lifespan failed; `started` tells the two apart.
    return 0 if server.started else 3
