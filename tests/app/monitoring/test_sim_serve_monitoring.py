"""`opsgraph sim serve SCENARIO --monitoring`: the sim, Prometheus and Alertmanager up together, all gone
after SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx

from tests.support.intake import wait_until
from tests.support.prometheus import require_pipeline
from tests.support.service import service_env


def test_sim_serve_with_monitoring_runs_and_stops_the_chain() -> None:
    require_pipeline()
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "sim", "serve", "oom_memory_hog", "--monitoring",
                                "--webhook-url", "http://127.0.0.1:9/webhooks/alertmanager"],
                               env=service_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        kubeconfig = process.stdout.readline().strip()
        assert kubeconfig.endswith(".kubeconfig")
        banner = process.stderr.readline() + process.stderr.readline()
        prometheus = re.search(r"Prometheus at (http://127\.0\.0\.1:\d+) \(test rules\)", banner)
        alertmanager = re.search(r"Alertmanager at (http://127\.0\.0\.1:\d+) posting to http://127\.0\.0\.1:9/", banner)
        assert prometheus and alertmanager, banner

        def crash_looping() -> bool:
            reply = httpx.get(prometheus.group(1) + "/api/v1/alerts", timeout=5).json()
            return any(a["labels"]["alertname"] == "KubePodCrashLooping" and a["state"] == "firing"
                       for a in reply["data"]["alerts"])

        wait_until(crash_looping, timeout=60, what="KubePodCrashLooping firing in Prometheus")
        assert httpx.get(alertmanager.group(1) + "/-/ready", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    assert code == 0
    for url in (prometheus.group(1), alertmanager.group(1)):
        try:
            httpx.get(url + "/-/ready", timeout=2)
        except httpx.TransportError:
            continue
        raise AssertionError(f"{url} still answers after the command stopped")
