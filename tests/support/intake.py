"""Shared pieces of the intake tests: payload builders, a threaded server, probe-runner processes, waits."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import uvicorn
from fastapi import FastAPI
from psycopg.rows import dict_row

from tests.support.service import ServiceProcess, free_port, service_env, wait_until_ready

WEBHOOK_TOKEN = "test-webhook-token"
API_TOKEN = "test-api-token"
FIRING_END = "0001-01-01T00:00:00Z"


def am_alert(alertname: str, fingerprint: str, *, status: str = "firing", starts_at: str = "2026-11-22T08:40:57Z",
             ends_at: str = FIRING_END, **labels: str) -> dict[str, Any]:
    return {"status": status, "labels": {"alertname": alertname, "severity": "warning", **labels},
            "annotations": {"summary": f"{alertname} fired"}, "startsAt": starts_at, "endsAt": ends_at,
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": fingerprint}


def am_payload(alerts: list[dict[str, Any]], group_key: str = "{}:{alertname=\"x\"}") -> dict[str, Any]:
    status = "resolved" if alerts and all(a["status"] == "resolved" for a in alerts) else "firing"
    return {"version": "4", "groupKey": group_key, "truncatedAlerts": 0, "status": status, "receiver": "opsgraph",
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
            "alerts": alerts}


def bearer(token: str = WEBHOOK_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_until(predicate: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll a condition until it holds or the deadline passes (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def query(conninfo: str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


class ThreadedService:
    """The app under uvicorn on a loopback port, in a thread; can be stopped and started on the same port."""

    def __init__(self, app_factory: Callable[[], FastAPI], port: int = 0) -> None:
        self.app_factory = app_factory
        self.port = port or free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = uvicorn.Config(self.app_factory(), host="127.0.0.1", port=self.port, log_config=None,
                                lifespan="on")
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
        self._thread.start()
        wait_until(lambda: server.started or not self._thread or not self._thread.is_alive(), timeout=60,
                   what="the service to start")
        assert server.started, "the service did not start (see the log above)"

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(30)
        self._server = self._thread = None

    def __enter__(self) -> ThreadedService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def intake_env(database_url: str, **variables: str) -> dict[str, str]:
    return service_env(OPSGRAPH_DATABASE_URL=database_url, OPSGRAPH_WEBHOOK_TOKEN=WEBHOOK_TOKEN,
                       OPSGRAPH_API_TOKEN=API_TOKEN, OPSGRAPH_LOG_LEVEL="INFO", **variables)


def start_runner_service(env: dict[str, str], log_path: Path, *, release_file: Path | None = None,
                         resolve_on_finish: bool = False) -> ServiceProcess:
    port = free_port()
    command = [sys.executable, "-m", "tests.support.runner_service", "--port", str(port)]
    if release_file is not None:
        command += ["--release-file", str(release_file)]
    if resolve_on_finish:
        command.append("--resolve-on-finish")
    log_file = log_path.open("w")
    process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, text=True)
    service = ServiceProcess(process, f"http://127.0.0.1:{port}", log_path)
    wait_until_ready(service)
    return service


@contextmanager
def runner_services(env: dict[str, str], tmp_path: Path, count: int, **kwargs: Any) -> Iterator[list[ServiceProcess]]:
    services: list[ServiceProcess] = []
    try:
        for n in range(count):
            services.append(start_runner_service(env, tmp_path / f"service-{n}.log", **kwargs))
        yield services
    finally:
        for service in services:
            service.stop()
