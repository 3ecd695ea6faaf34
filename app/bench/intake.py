"""`opsgraph bench intake`: acknowledgement latency and sustained throughput of the webhook.

A real service process (`opsgraph serve`, uvicorn) on loopback, against a scratch database on the
configured Postgres (or the embedded one), fed by concurrent httpx clients (threads):
1. steady: an open-loop schedule at `--rate` alerts/s; p50/p99 of the time to the 202;
2. peak: `--concurrency` clients posting back to back; sustained alerts/s;
then zero loss is checked by counting the stored rows against the acknowledged alerts.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from app.db.embedded import EmbeddedPostgres
from app.settings import Settings

FAMILY = ("KubePodCrashLooping", "KubePodNotReady", "KubeContainerWaiting")
POD_SUFFIXES = ("k2x4q", "m8zzt", "p4w2v", "bcdfg", "x7k2q")
READY_SECONDS = 60.0


@dataclass
class PhaseResult:
    name: str
    requests: int = 0
    alerts: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)  # "HTTP 503", "ConnectionRefusedError", ...
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU per request by process, when /proc tells

    @property
    def errors(self) -> int:
        return sum(self.error_kinds.values())

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def line(self) -> str:
        rate = self.alerts / self.seconds if self.seconds else 0.0
        return (f"{self.name:<7} {self.alerts:>6} alerts in {self.requests} requests over {self.seconds:5.1f} s "
                f"= {rate:6.0f} alerts/s | ack p50 {self.percentile(50):6.1f} ms  p99 {self.percentile(99):6.1f} ms"
                f"  max {max(self.latencies_ms, default=float('nan')):6.1f} ms | errors {self.errors}"
                + (" (" + ", ".join(f"{kind}: {n}" for kind, n in sorted(self.error_kinds.items())) + ")"
                   if self.error_kinds else "")
                + ("\n        CPU per request: " + ", ".join(f"{who} {ms:.2f} ms" for who, ms in self.cpu_ms.items())
                   if self.cpu_ms else ""))


class AlertFactory:
    """Unique alerts about a few hundred workloads, so most join an incident and some open one."""

    def __init__(self, per_request: int, workloads: int = 300) -> None:
        self.per_request = per_request
        self.workloads = workloads
        self.serial = 0
        self.run = secrets.token_hex(3)

    def payload(self) -> dict[str, Any]:
        alerts = []
        for _ in range(self.per_request):
            n = self.serial
            self.serial += 1
            w = n % self.workloads
            alerts.append({
                "status": "firing", "startsAt": "2026-11-22T08:40:57Z", "endsAt": "0001-01-01T00:00:00Z",
                "labels": {"alertname": FAMILY[n % 3], "namespace": f"team-{w % 20}", "severity": "warning",
                           "pod": f"svc{w}-7f9c6d5b8-{POD_SUFFIXES[n % len(POD_SUFFIXES)]}", "container": "app"},
                "annotations": {"summary": "bench"}, "generatorURL": "http://prometheus/graph",
                "fingerprint": f"{self.run}-{n:09d}",
            })
        return {"version": "4", "groupKey": f"bench/{self.serial}", "truncatedAlerts": 0, "status": "firing",
                "receiver": "opsgraph", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                "externalURL": "http://alertmanager", "alerts": alerts}


class Clients:
    """Concurrent HTTP/1.1 keep-alive clients, one connection per thread.

    The standard library's http.client rather than httpx: the load generator shares this machine's
    two cores with the service and Postgres, and httpx spends ~0.9 ms of CPU per request here
    (against ~0.25 ms, building the payload included), which would measure the client, not the service.
    """

    def __init__(self, base: str, token: str, threads: int) -> None:
        url = urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="bench-client")
        self.lock = threading.Lock()

    def _send(self, body: bytes) -> int:
        conn: http.client.HTTPConnection | None = getattr(self.local, "conn", None)
        if conn is not None:
            try:
                return self._exchange(conn, body)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                pass  # the server closes keep-alive connections idle for 5 s: send again on a new one
        conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return self._exchange(conn, body)

    def _exchange(self, conn: http.client.HTTPConnection, body: bytes) -> int:
        try:
            conn.request("POST", "/webhooks/alertmanager", body=body, headers=self.headers)
            response = conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            self.local.conn = None
            raise

    def post(self, factory: AlertFactory, result: PhaseResult, started: float | None = None) -> None:
        with self.lock:
            payload = factory.payload()
        body = json.dumps(payload).encode()
        started = time.perf_counter() if started is None else started
        try:
            status = self._send(body)
            error = None if status == 202 else f"HTTP {status}"
        except (OSError, http.client.HTTPException) as exc:
            error = type(exc).__name__
        latency = (time.perf_counter() - started) * 1000
        with self.lock:
            result.requests += 1
            if error is None:
                result.latencies_ms.append(latency)
                result.alerts += len(payload["alerts"])
            else:
                result.error_kinds[error] = result.error_kinds.get(error, 0) + 1


class CpuMeter:
    """CPU seconds spent by the service, the benchmark's Postgres server and this client, from /proc.

    Every process on this machine shares the same cores, so the split says which one a faster
    webhook has to come from. Postgres is counted only when its server runs here (the embedded
    one, or a local DATABASE_URL whose data directory this user can read): its postmaster and
    that postmaster's children, not any other Postgres on the machine.
    """

    def __init__(self, service_pid: int, postmaster_pid: int | None) -> None:
        self.service_pid = service_pid
        self.postmaster_pid = postmaster_pid
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    @staticmethod
    def _stat(pid: int | str) -> list[str]:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return []

    def _process_seconds(self, pid: int | str) -> float:
        fields = self._stat(pid)
        return (int(fields[11]) + int(fields[12])) / self.tick if fields else 0.0  # utime + stime

    def _postgres_seconds(self, postmaster: int) -> float:
        total = self._process_seconds(postmaster)
        for entry in Path("/proc").glob("[0-9]*"):
            fields = self._stat(entry.name)
            if fields and fields[1] == str(postmaster):  # ppid: a backend or auxiliary process of ours
                total += self._process_seconds(entry.name)
        return total

    def sample(self) -> dict[str, float]:
        if not Path(f"/proc/{self.service_pid}/stat").exists():
            return {}
        seconds = {"service": self._process_seconds(self.service_pid)}
        if self.postmaster_pid is not None:
            seconds["postgres"] = self._postgres_seconds(self.postmaster_pid)
        return {**seconds, "client": time.process_time()}

    def measure(self, phase: Callable[[], PhaseResult]) -> PhaseResult:
        before = self.sample()
        result = phase()
        after = self.sample()
        if before and after and result.requests:
            # A Postgres backend that exits mid-phase takes its seconds with it; the figure is a floor.
            result.cpu_ms = {who: max(0.0, after[who] - before[who]) / result.requests * 1000 for who in before}
        return result


def steady(clients: Clients, factory: AlertFactory, rate: float, seconds: float) -> PhaseResult:
    """Open loop: requests are due on a fixed schedule whether or not earlier ones were answered, and
    latency counts from the due time, so a stalled service cannot hide its queue (no coordinated omission)."""
    result = PhaseResult("steady")
    interval = factory.per_request / rate
    started = time.perf_counter()
    futures = []
    n = 0
    while (due := started + n * interval) < started + seconds:
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)  # pacing the schedule, not waiting for a condition
        futures.append(clients.pool.submit(clients.post, factory, result, due))
        n += 1
    for future in futures:
        future.result()
    result.seconds = time.perf_counter() - started
    return result


def peak(clients: Clients, factory: AlertFactory, concurrency: int, seconds: float) -> PhaseResult:
    result = PhaseResult("peak")
    started = time.perf_counter()
    deadline = started + seconds

    def client_loop() -> None:
        while time.perf_counter() < deadline:
            clients.post(factory, result)

    for future in [clients.pool.submit(client_loop) for _ in range(concurrency)]:
        future.result()
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def scratch_database(settings: Settings) -> Iterator[str]:
    """A fresh database on the configured server (never the live one), or on an embedded server."""
    server: EmbeddedPostgres | None = None
    tmp: str | None = None
    if settings.database_url is not None:
        base = settings.database_url.get_secret_value()
    else:
        tmp = tempfile.mkdtemp(prefix="opsgraph-bench-pg-")
        server = EmbeddedPostgres(Path(tmp))
        base = server.start()
    name = f"opsgraph_bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_conninfo(base, dbname=name)
        finally:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        if server is not None:
            server.stop()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _as_url(conninfo: str) -> str:
    from urllib.parse import quote

    parts = conninfo_to_dict(conninfo)
    host = str(parts.get("host", "localhost"))
    auth = f"{quote(str(parts.get('user', 'postgres')))}:{quote(str(parts.get('password', '')))}@"
    if host.startswith("/"):
        return f"postgresql://{auth}/{parts.get('dbname')}?host={quote(host, safe='')}&port={parts.get('port', 5432)}"
    return f"postgresql://{auth}{host}:{parts.get('port', 5432)}/{parts.get('dbname')}"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_intake_bench(settings: Settings, *, rate: float, seconds: float, concurrency: int,
                     per_request: int, repeat: int = 1) -> int:
    """Run the benchmark `repeat` times, each on a fresh database and service; 1 on any loss."""
    print(f"opsgraph bench intake: {os.cpu_count()} CPUs, {per_request} alert(s) per request, "
          f"steady {rate:g} alerts/s, peak with {concurrency} clients, {seconds:g} s each")
    runs = [_run_once(settings, rate=rate, seconds=seconds, concurrency=concurrency, per_request=per_request)
            for _ in range(repeat)]
    if repeat > 1:
        steadies = [phases["steady"] for phases, _ in runs]
        peaks = [phases["peak"] for phases, _ in runs]
        print(f"median of {repeat} runs: steady ack p50 {median(r.percentile(50) for r in steadies):.1f} ms, "
              f"p99 {median(r.percentile(99) for r in steadies):.1f} ms | "
              f"peak {median(r.alerts / r.seconds for r in peaks):.0f} alerts/s")
    return 0 if all(lossless for _, lossless in runs) else 1


def _run_once(settings: Settings, *, rate: float, seconds: float, concurrency: int,
              per_request: int) -> tuple[dict[str, PhaseResult], bool]:
    token = secrets.token_urlsafe(16)
    with scratch_database(settings) as conninfo:
        port = _free_port()
        # The child is configured through its environment, exactly as an operator would run it.
        env = {**os.environ, "OPSGRAPH_DATABASE_URL": _as_url(conninfo), "OPSGRAPH_WEBHOOK_TOKEN": token,
               "OPSGRAPH_LOG_LEVEL": "WARNING", "OPSGRAPH_WORKERS": "0", "OPSGRAPH_DB_POOL_MAX_SIZE": "20"}
        server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(base, server)
            meter = CpuMeter(server.pid, _local_postmaster(conninfo))
            results = _drive(base, token, rate, seconds, concurrency, per_request, meter)
        finally:
            server.terminate()
            server.wait(30)
        stored = _count(conninfo)
    acked = sum(r.alerts for r in results)
    for result in results:
        print(result.line())
    print(f"loss check: {acked} alerts acknowledged, {stored} stored -> "
          f"{'zero loss' if stored == acked else f'MISMATCH ({acked - stored} missing)'}", flush=True)
    return {r.name: r for r in results}, stored == acked


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the service exited with {server.returncode}")
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the service did not become ready")


def _drive(base: str, token: str, rate: float, seconds: float, concurrency: int, per_request: int,
           meter: CpuMeter) -> list[PhaseResult]:
    factory = AlertFactory(per_request)
    clients = Clients(base, token, max(concurrency, 64))
    try:
        warm = peak(clients, factory, 4, 1.0)  # connections, prepared statements, first incidents
        warm.name = "warm-up"
        return [warm, meter.measure(lambda: steady(clients, factory, rate, seconds)),
                meter.measure(lambda: peak(clients, factory, concurrency, seconds))]
    finally:
        clients.pool.shutdown()


def _local_postmaster(conninfo: str) -> int | None:
    """The pid of the database server's postmaster when it runs on this machine, else None."""
    try:
        with psycopg.connect(conninfo) as conn:
            row = conn.execute("SELECT current_setting('data_directory'), current_setting('port')").fetchone()
    except psycopg.Error:  # reading data_directory needs pg_read_all_settings
        return None
    try:
        # postmaster.pid: pid, data directory, start time, port, ... (one per line)
        lines = Path(str(row[0]) if row else "", "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), lines[3].strip()
    except (OSError, ValueError, IndexError):
        return None  # a remote server, or a data directory this user cannot read
    same_server = row is not None and port == str(row[1]) and Path(f"/proc/{pid}/stat").exists()
    return pid if same_server else None


def _count(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM incident_alerts").fetchone()
    return int(row[0]) if row else 0
