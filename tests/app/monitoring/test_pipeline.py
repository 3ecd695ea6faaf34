"""The pipeline tier: real Prometheus evaluating the kubernetes-mixin rules on the sim's metrics, real
Alertmanager delivering to a webhook. Prints its figures (run with -s to see them)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.monitoring.honesty import check_scenarios
from app.monitoring.pipeline import (
    NOT_SIMULATED,
    ScrapeTarget,
    Webhook,
    prometheus_config,
    start_monitoring,
    write_rules,
)
from app.monitoring.rules import load_rules
from sim.runtime import start_sim
from sim.scenario import find_scenario, scenario_dir
from tests.support.intake import wait_until
from tests.support.prometheus import require_pipeline, require_prometheus
from tests.support.verification import apply_fix


class _Capture(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((self.headers.get("Authorization", ""), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    received: list[tuple[str, dict[str, Any]]] = []
    handler = type("Capture", (_Capture,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/alertmanager", received
    finally:
        server.shutdown()
        server.server_close()


def test_every_shipped_scenario_passes_the_honesty_check(tmp_path: Path) -> None:
    require_prometheus()
    shipped = sorted(scenario_dir().glob("*.yaml"))
    # A copy that names a pod the cluster does not have must fail, showing the difference.
    lying = tmp_path / "oom_lying.yaml"
    text = find_scenario("oom_memory_hog").read_text()
    lying.write_text(text.replace("name: oom_memory_hog", "name: oom_lying", 1)
                     .replace("pod: memory-hog-5cdd5d989-6pfx8", "pod: memory-hog-5cdd5d989-zzzzz"))
    assert "memory-hog-5cdd5d989-zzzzz" in lying.read_text()
    results, seconds = check_scenarios([*shipped, lying])
    print(f"\nhonesty check: {len(results)} scenarios, one Prometheus, {seconds:.1f} s")
    by_name = {r.scenario: r for r in results}
    failures = [r.explain() for name, r in by_name.items() if name != "oom_lying" and not r.passed]
    assert not failures, "\n".join(failures)
    lie = by_name["oom_lying"]
    assert not lie.passed
    message = lie.explain()
    assert "declared but not fired: KubePodCrashLooping" in message
    assert "pod: declared 'memory-hog-5cdd5d989-zzzzz', fired 'memory-hog-5cdd5d989-6pfx8'" in message
    healthy = by_name["healthy_baseline"]
    assert healthy.passed and not healthy.fired
    assert any(r.team for r in results), "team alerts are listed with their reason"


def test_scrape_config_keeps_clusters_apart_and_instance_fixed() -> None:
    config = prometheus_config([ScrapeTarget("http://127.0.0.1:4000", "a"), ScrapeTarget("http://127.0.0.1:4001", "b")],
                               Path("/rules.yaml"), "http://127.0.0.1:9093")
    ksm = next(j for j in config["scrape_configs"] if j["job_name"] == "kube-state-metrics")
    assert ksm["metrics_path"] == "/metrics/kube-state-metrics" and ksm["scrape_interval"] == "1s"
    assert [s["labels"]["cluster"] for s in ksm["static_configs"]] == ["a", "b"]
    assert ksm["relabel_configs"] == [{"target_label": "instance", "replacement": "kube-state-metrics"}]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9093"]


def test_a_fault_reaches_the_webhook_and_the_fix_resolves_it() -> None:
    require_pipeline()
    with start_sim(find_scenario("oom_memory_hog")) as sim, webhook_receiver() as (url, received):
        pod = next(p["metadata"]["name"] for p in sim.store.list("Pod", "default"))
        started = time.monotonic()
        with start_monitoring([ScrapeTarget(sim.url)], webhook=Webhook(url, "s3cret")) as pipeline:
            def delivered(status: str) -> dict[str, Any] | None:
                for auth, payload in received:
                    for alert in payload["alerts"]:
                        if alert["labels"]["alertname"] == "KubePodCrashLooping" and alert["status"] == status:
                            assert auth == "Bearer s3cret"
                            return alert
                return None

            firing = wait_until(lambda: delivered("firing"), timeout=60, what="KubePodCrashLooping at the webhook")
            fired_after = time.monotonic() - started
            assert firing["labels"]["pod"] == pod and firing["labels"]["namespace"] == "default"
            assert firing["labels"]["instance"] == "kube-state-metrics" and firing["labels"]["reason"] == "CrashLoopBackOff"
            assert firing["annotations"]["runbook_url"].endswith("kubepodcrashlooping")
            fixed_at = time.monotonic()
            apply_fix(sim)
            resolved = wait_until(lambda: delivered("resolved"), timeout=90, what="the resolved notification")
            print(f"\npipeline: fault at the webhook {fired_after:.1f} s after start; "
                  f"resolved {time.monotonic() - fixed_at:.1f} s after the fix")
            assert resolved["fingerprint"] == firing["fingerprint"]
            assert all(a["labels"]["alertname"] != "KubePodCrashLooping" for a in pipeline.alerts(state=None))
        processes = pipeline.processes
    assert all(p.process.poll() is not None for p in processes), "both processes stopped"
    assert not pipeline.workdir.exists(), "the temporary directory is removed"


def test_loaded_rules_leave_out_control_plane_targets_the_sim_does_not_serve(tmp_path: Path) -> None:
    for profile, crash_for in (("test", "5s"), ("production", "15m")):
        rules = load_rules(write_rules(tmp_path, profile))
        alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
        assert not NOT_SIMULATED & set(alerts) and "KubeletDown" in alerts
        assert alerts["KubePodCrashLooping"]["for"] == crash_for
    with pytest.raises(ValueError, match="unknown rules profile"):
        write_rules(tmp_path, "fast")
