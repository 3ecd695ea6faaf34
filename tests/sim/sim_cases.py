"""Small scenarios built in code and served for real, for the behaviour tests of issue 14 (scheduling,
probes over time, storage): the real kubectl and the kubernetes client run against them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sim.runtime import RunningSim, start_sim
from sim.scenario import parse_scenario
from tests.sim.api_support import python_client, run_kubectl


def deployment(name: str, namespace: str, *, replicas: int = 1, image: str = "nginx:1.27",
               pod: dict[str, Any] | None = None, container: dict[str, Any] | None = None,
               strategy: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": name, "image": image, **(container or {})}], **(pod or {})}
    out: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}
    if strategy:
        out["spec"]["strategy"] = strategy
    return out


class Case:
    """One running sim with kubectl and the Python client pointed at it."""

    def __init__(self, sim: RunningSim) -> None:
        self.sim = sim
        self.store = sim.store

    def kubectl(self, *args: str) -> str:
        done = run_kubectl(self.sim.kubeconfig_path, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json"))

    def client(self) -> Any:
        return python_client(self.sim.kubeconfig_path)

    def pods(self, namespace: str, prefix: str) -> list[dict[str, Any]]:
        return [p for p in self.store.list("Pod", namespace) if p["metadata"]["name"].startswith(prefix + "-")]

    def events(self, name: str) -> set[tuple[str, str]]:
        return {(e["reason"], e["message"]) for e in self.store.list("Event") if e["involvedObject"]["name"] == name}


@contextmanager
def served(tmp_path: Path, **scenario: Any) -> Iterator[Case]:
    data = {"name": "case", "description": "a behaviour test", "expect": {"category": "healthy", "healthy": True},
            **scenario}
    sim = start_sim(parse_scenario(data), kubeconfig_dir=tmp_path)
    try:
        yield Case(sim)
    finally:
        sim.stop()


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
