"""Run `opsgraph serve` as a real process on loopback for tests that need the whole service."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

START_DEADLINE_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(**variables: str) -> dict[str, str]:
    """The test process's environment without any opsgraph or credential variables, plus these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGRAPH_", "SLACK_"))}
    for name in ("DATABASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GITHUB_TOKEN", "TAVILY_API_KEY", "KUBECONFIG"):
        env.pop(name, None)
    env["OPSGRAPH_LOG_FORMAT"] = "json"
    env.update(variables)
    return env


@dataclass
class ServiceProcess:
    process: subprocess.Popen[str]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return int(self.process.returncode)


def start_service(env: dict[str, str], log_path: Path, *, wait_ready: bool = True) -> ServiceProcess:
    port = free_port()
    log_file = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env, stdout=log_file, stderr=subprocess.STDOUT, text=True,
    )
    service = ServiceProcess(process, f"http://127.0.0.1:{port}", log_path)
    if wait_ready:
        wait_until_ready(service)
    return service


def wait_until_ready(service: ServiceProcess, deadline_seconds: float = START_DEADLINE_SECONDS) -> None:
    """Poll /readyz until 200; fail with the service's log if it exits or the deadline passes."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise AssertionError(f"service exited with {service.process.returncode}:\n{service.log()}")
        try:
            if httpx.get(service.url + "/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling a readiness condition with a deadline, not a fixed wait
    service.stop(signal.SIGKILL)
    raise AssertionError(f"service not ready after {deadline_seconds} s:\n{service.log()}")


@contextmanager
def running_service(env: dict[str, str], log_path: Path) -> Iterator[ServiceProcess]:
    service = start_service(env, log_path)
    try:
        yield service
    finally:
        service.stop()
