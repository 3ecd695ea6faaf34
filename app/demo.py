"""`opsgraph demo`: the whole story on embedded defaults, with nothing configured.

Starts the embedded Postgres, a simulated cluster running the scenario, and the service; then
shows what the cluster looks like and that the service is ready. Later stages of the story
(alert → diagnosis → approval → pull request) are added to `run_story` as they land.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from typing import TextIO

import httpx
import uvicorn
from sim.runtime import RunningSim

from app.settings import Settings

Say = Callable[[str], None]


def run_demo(settings: Settings, *, scenario: str, unattended: bool, port: int,
             out: TextIO = sys.stdout) -> int:
    return asyncio.run(_demo(settings, scenario=scenario, unattended=unattended, port=port, out=out))


async def _demo(settings: Settings, *, scenario: str, unattended: bool, port: int, out: TextIO) -> int:
    from sim.runtime import start_sim
    from sim.scenario import find_scenario

    from app.observability import configure_logging
    from app.main import create_app

    # The demo talks to a person: keep the service's own logs to warnings and above.
    configure_logging("WARNING", "text")
    started = time.monotonic()
    say = _printer(out)
    with start_sim(find_scenario(scenario)) as cluster:
        say(f"simulated cluster '{cluster.scenario.name}' at {cluster.url}")
        say(f"  kubeconfig: {cluster.kubeconfig_path}  (try: kubectl --kubeconfig {cluster.kubeconfig_path} get pods -A)")
        say(f"  {cluster.scenario.description.strip().splitlines()[0]}")
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                               log_config=None, lifespan="on"))
        serving = asyncio.create_task(server.serve())
        try:
            base_url = await _wait_started(server, serving)
            database = "embedded Postgres in " + str(settings.data_dir) if settings.database_url is None else "DATABASE_URL"
            say(f"opsgraph service at {base_url} ({database})")
            await run_story(base_url, cluster, say)
            say(f"demo ready in {time.monotonic() - started:.1f} s")
            if not unattended:
                say("Ctrl-C stops the service, the cluster and the database.")
                await serving
        finally:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await serving
    return 0 if unattended or server.started else 3


async def run_story(base_url: str, cluster: RunningSim, say: Say) -> None:
    """What the demo shows once everything is up; grows with each stage of the product."""
    from sim.tables import pod_status

    say("pods in the simulated cluster:")
    for pod in cluster.store.list("Pod"):
        status, ready, total, restarts, _ = pod_status(pod)
        meta = pod["metadata"]
        say(f"  {meta['namespace']:<14} {meta['name']:<40} {ready}/{total}  {status:<18} restarts={restarts}")
    async with httpx.AsyncClient(base_url=base_url) as client:
        ready = (await client.get("/readyz")).json()
    say(f"service readiness: {ready['status']} (schema version {ready['schema_version']})")


async def _wait_started(server: uvicorn.Server, serving: asyncio.Task[None]) -> str:
    while not server.started:
        if serving.done():
            serving.result()  # re-raise the start-up failure
            raise SystemExit(3)
        await asyncio.sleep(0.05)
    sock = server.servers[0].sockets[0]
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


def _printer(out: TextIO) -> Say:
    def say(line: str) -> None:
        print(line, file=out, flush=True)

    return say
