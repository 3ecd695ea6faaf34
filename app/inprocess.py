"""Run the service inside this process on a loopback port: for the demo and the eval, which talk to
it over real HTTP exactly as Alertmanager and a person would."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from app.main import RunnerFactory, create_app
from app.runner import build_incident_runner
from app.settings import Settings


@asynccontextmanager
async def serving(settings: Settings, *, port: int = 0,
                  runner_factory: RunnerFactory = build_incident_runner) -> AsyncIterator[str]:
    """Start the service (lifespan, workers and all); yield its base URL; stop it on exit."""
    server = uvicorn.Server(uvicorn.Config(create_app(settings, runner_factory=runner_factory),
                                           host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raise a start-up failure
                raise RuntimeError("opsgraph did not start (see the log above)")
            await asyncio.sleep(0.02)  # uvicorn offers no start event to await
        host, bound_port = server.servers[0].sockets[0].getsockname()[:2]
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
