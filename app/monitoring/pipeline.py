"""Real Prometheus and Alertmanager (Debian's packages) on loopback, scraping simulated clusters.

Prometheus scrapes each cluster's `/metrics/<source>` as the jobs kube-prometheus-stack would
(`kube-state-metrics`, `kubelet`, `cadvisor`), every second, and evaluates the kubernetes-mixin rules (by
default their test profile, app/monitoring/rules.py) every second; Alertmanager groups the alerts and posts
them to a webhook. Several clusters can share one Prometheus: each target's series carry
`cluster="<name>"`, which the mixin's rules already keep apart.

Measured on Prometheus 2.42: static targets reach the scrape manager in the discovery manager's 5-second
batches, so the first scrape comes ~5-6 s after start; an alert that fires in the first seconds is
resent only after `--rules.alert.resend-delay` (set to 1s here); and `instance` is relabelled to a
fixed value, or every run (new loopback port) would give the same alert a new fingerprint.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from app.monitoring.rules import RENDERED_RULES, dump_rules, load_rules, shortened_rules

SCRAPE_JOBS = ("kube-state-metrics", "kubelet", "cadvisor")
# The target labels kube-prometheus-stack's ServiceMonitors give each job. With honor_labels a series'
# own `namespace` wins, so only cluster-scoped series (nodes) carry the exporter's namespace, as there.
TARGET_LABELS = {
    "kube-state-metrics": {"namespace": "monitoring", "service": "kube-prometheus-stack-kube-state-metrics",
                           "endpoint": "http"},
    "kubelet": {"namespace": "kube-system", "service": "kube-prometheus-stack-kubelet", "endpoint": "https-metrics"},
    "cadvisor": {"namespace": "kube-system", "service": "kube-prometheus-stack-kubelet", "endpoint": "https-metrics"},
}
START_DEADLINE_SECONDS = 30.0
# `absent(up{job=...})` alerts for control-plane components the simulator does not expose as scrape targets;
# left out of the loaded rules, as kube-prometheus-stack leaves them out for a managed control plane.
NOT_SIMULATED = frozenset({"KubeAPIDown", "KubeSchedulerDown", "KubeControllerManagerDown", "KubeProxyDown"})


class MonitoringUnavailable(RuntimeError):
    """A binary the pipeline needs is not installed (scripts/ensure-prometheus.sh installs them)."""


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        raise MonitoringUnavailable("prometheus is not installed (run scripts/ensure-prometheus.sh: Debian's "
                                    "`prometheus` package, which also ships promtool)")
    return found


def promtool_binary() -> str:
    found = shutil.which("promtool")
    if found is None:
        raise MonitoringUnavailable("promtool is not installed (it ships with Debian's `prometheus` package; "
                                    "run scripts/ensure-prometheus.sh)")
    return found


def alertmanager_binary() -> str:
    found = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if found is None:
        raise MonitoringUnavailable("prometheus-alertmanager is not installed (run scripts/ensure-alertmanager.sh)")
    return found


@dataclass(frozen=True)
class ScrapeTarget:
    """A simulated cluster's API URL and the `cluster` label its series get (None: no label)."""

    url: str
    cluster: str | None = None


@dataclass(frozen=True)
class Webhook:
    url: str
    token: str | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prometheus_config(targets: list[ScrapeTarget], rule_file: Path, alertmanager_url: str | None) -> dict[str, Any]:
    scrape_configs = []
    for job in SCRAPE_JOBS:
        static = []
        for target in targets:
            labels = {**TARGET_LABELS[job], **({"cluster": target.cluster} if target.cluster else {})}
            static.append({"targets": [urlsplit(target.url).netloc], "labels": labels})
        scrape_configs.append({
            "job_name": job, "metrics_path": f"/metrics/{job}", "scrape_interval": "1s", "scrape_timeout": "1s",
            "honor_labels": True,
            "static_configs": static,
            # The loopback port changes every run; a fixed instance keeps alert fingerprints stable.
            "relabel_configs": [{"target_label": "instance", "replacement": job}],
        })
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rule_file)],
        "scrape_configs": scrape_configs,
    }
    if alertmanager_url:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [urlsplit(alertmanager_url).netloc]}]}]}
    return config


def alertmanager_config(webhook: Webhook) -> dict[str, Any]:
    config: dict[str, Any] = {"url": webhook.url, "send_resolved": True, "max_alerts": 0}
    if webhook.token:
        config["http_config"] = {"authorization": {"type": "Bearer", "credentials": webhook.token}}
    return {
        # Short waits so a fault reaches the webhook seconds after its alert fires (production uses 30s/5m).
        "route": {"receiver": "opsgraph", "group_by": ["alertname", "cluster", "namespace"],
                  "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "opsgraph", "webhook_configs": [config]}],
    }


@dataclass
class _Process:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _wait(predicate: Callable[[], bool], deadline_seconds: float, what: str, alive: Callable[[], None]) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        alive()
        with contextlib.suppress(httpx.TransportError):
            if predicate():
                return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {deadline_seconds:.0f}s waiting for {what}")


@dataclass
class MonitoringPipeline:
    """A running Prometheus (and Alertmanager when a webhook is given); use `start_monitoring`."""

    prometheus_url: str
    alertmanager_url: str | None
    workdir: Path
    processes: list[_Process] = field(default_factory=list)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()

    def __enter__(self) -> MonitoringPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def check_alive(self) -> None:
        for proc in self.processes:
            proc.check_alive()

    def query(self, promql: str) -> list[dict[str, Any]]:
        reply = httpx.get(self.prometheus_url + "/api/v1/query", params={"query": promql}, timeout=10)
        reply.raise_for_status()
        return reply.json()["data"]["result"]

    def alerts(self, state: str | None = "firing") -> list[dict[str, Any]]:
        """Prometheus's active alerts (`firing`, `pending`, or both with None)."""
        reply = httpx.get(self.prometheus_url + "/api/v1/alerts", timeout=10)
        reply.raise_for_status()
        return [a for a in reply.json()["data"]["alerts"] if state is None or a.get("state") == state]

    def targets_up(self) -> int:
        reply = httpx.get(self.prometheus_url + "/api/v1/targets", params={"state": "active"}, timeout=10)
        reply.raise_for_status()
        return sum(1 for t in reply.json()["data"]["activeTargets"] if t.get("health") == "up")

    def wait_for_scrapes(self, expected_targets: int, deadline_seconds: float = START_DEADLINE_SECONDS) -> None:
        _wait(lambda: self.targets_up() >= expected_targets, deadline_seconds,
              f"Prometheus to scrape {expected_targets} targets", self.check_alive)


def write_rules(workdir: Path, profile: str) -> Path:
    """The rule file Prometheus loads: the rendered mixin rules as shipped (`production`) or shortened (`test`)."""
    if profile not in ("production", "test"):
        raise ValueError(f"unknown rules profile {profile!r} (production or test)")
    rules = load_rules(RENDERED_RULES)
    rules = {"groups": [{**g, "rules": [r for r in g["rules"] if r.get("alert") not in NOT_SIMULATED]}
                        for g in rules["groups"]]}
    path = workdir / f"kubernetes-mixin-{profile}.yaml"
    path.write_text(dump_rules(shortened_rules(rules) if profile == "test" else rules))
    return path


@contextlib.contextmanager
def start_monitoring(targets: list[ScrapeTarget], *, webhook: Webhook | None = None, profile: str = "test",
                     workdir: Path | None = None) -> Iterator[MonitoringPipeline]:
    """Prometheus scraping `targets` with the mixin rules, and Alertmanager posting to `webhook` when given.

    Both listen on loopback ports of their own; everything they write lives in `workdir` (a temporary
    directory by default) and both are stopped on exit."""
    prometheus = prometheus_binary()
    alertmanager = alertmanager_binary() if webhook is not None else None
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="opsgraph-monitoring-")))
        workdir.mkdir(parents=True, exist_ok=True)
        processes: list[_Process] = []
        alertmanager_url = None
        if alertmanager is not None and webhook is not None:
            am_port = free_port()
            alertmanager_url = f"http://127.0.0.1:{am_port}"
            am_config = workdir / "alertmanager.yml"
            am_config.write_text(yaml.safe_dump(alertmanager_config(webhook), sort_keys=False))
            processes.append(_spawn("alertmanager", [
                alertmanager, f"--config.file={am_config}", f"--storage.path={workdir / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="], workdir))
        rule_file = write_rules(workdir, profile)
        prom_config = workdir / "prometheus.yml"
        prom_config.write_text(yaml.safe_dump(prometheus_config(targets, rule_file, alertmanager_url), sort_keys=False))
        prom_port = free_port()
        pipeline = MonitoringPipeline(f"http://127.0.0.1:{prom_port}", alertmanager_url, workdir, processes)
        stack.callback(pipeline.stop)
        processes.append(_spawn("prometheus", [
            prometheus, f"--config.file={prom_config}", f"--storage.tsdb.path={workdir / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}", "--rules.alert.resend-delay=1s",
            "--storage.tsdb.retention.time=1d", "--web.enable-lifecycle"], workdir))
        if alertmanager_url is not None:
            _wait(lambda: httpx.get(alertmanager_url + "/-/ready", timeout=1).status_code == 200,
                  START_DEADLINE_SECONDS, "Alertmanager to be ready", pipeline.check_alive)
        _wait(lambda: httpx.get(pipeline.prometheus_url + "/-/ready", timeout=1).status_code == 200,
              START_DEADLINE_SECONDS, "Prometheus to be ready", pipeline.check_alive)
        yield pipeline


def _spawn(name: str, argv: list[str], workdir: Path) -> _Process:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        # Its own session: a Ctrl-C meant for the foreground command does not reach it before we stop it.
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env={**os.environ, "GOMAXPROCS": "1"})
    return _Process(name, process, log_path)
