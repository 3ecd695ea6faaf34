"""Running a sim from a scenario written inline in a test, with kubectl and the kubernetes client on it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sim.runtime import RunningSim, start_sim
from sim.scenario import parse_scenario
from tests.sim.api_support import KUBECTL, python_client, run_kubectl


def scenario(name: str, objects: list[dict[str, Any]], **fields: Any) -> Any:
    data = {"name": name, "description": f"test scenario {name}", "objects": objects,
            "expect": {"category": "healthy", "healthy": True}, **fields}
    return parse_scenario(data)


@contextmanager
def running(tmp_path: Path, name: str, objects: list[dict[str, Any]], **fields: Any) -> Iterator[RunningSim]:
    sim = start_sim(scenario(name, objects, **fields), kubeconfig_dir=tmp_path)
    try:
        yield sim
    finally:
        sim.stop()


def kubectl(sim: RunningSim, *args: str, timeout: float = 30, input_text: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    if input_text is None:
        return run_kubectl(sim.kubeconfig_path, *args, timeout=timeout)
    config = sim.kubeconfig_path
    env = {**os.environ, "HOME": str(config.parent), "KUBECONFIG": ""}
    return subprocess.run([KUBECTL, "--kubeconfig", str(config), "--cache-dir", str(config.parent / "kube-cache"),
                           *args], input=input_text, capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)


def client(sim: RunningSim) -> Any:
    return python_client(sim.kubeconfig_path)


def deployment(name: str, namespace: str, image: str, replicas: int = 1, labels: dict[str, str] | None = None,
               **container: Any) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": name, "image": image, **container}]}}}}


def service(name: str, namespace: str, selector: dict[str, str], port: int, target: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": selector, "ports": [{"name": "http", "port": port, "targetPort": target}]}}


def pods_of(sim: RunningSim, namespace: str, prefix: str) -> list[dict[str, Any]]:
    return [p for p in sim.store.list("Pod", namespace) if p["metadata"]["name"].startswith(prefix + "-")]
