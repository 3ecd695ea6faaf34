"""Shared pieces for the tests/sim/test_api_* modules: a hand-built store, a stand-in controller,
a running server, and kubectl / kubernetes-client wiring against it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sim.kubeconfig import write_kubeconfig
from sim.server import SimHTTPServer
from sim.store import ObjectStore, format_time

KUBECTL = "/usr/bin/kubectl"
# Fixed for the table columns, near the wall clock because kubectl describe computes ages locally.
NOW = datetime.now(UTC).replace(microsecond=0)


def ago(**delta: float) -> str:
    return format_time(NOW - timedelta(**delta))


class FakeLogError(Exception):
    """Shaped like sim.controller.LogError: the server matches on code/reason/message."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


@dataclass
class FakeController:
    """Stands in for sim.controller.Controller: counts reconciles, serves fixed log lines."""

    store: ObjectStore
    reconciles: int = 0
    logs: dict[tuple[str, str, str, bool], str] = field(default_factory=dict)

    def reconcile(self) -> None:
        assert self.store.lock._is_owned()  # type: ignore[attr-defined]  # contract: called under the lock
        self.reconciles += 1

    def read_log(self, namespace: str, pod: str, container: str | None, previous: bool) -> str:
        found = self.store.get("Pod", namespace, pod)
        if found is None:
            raise FakeLogError(404, "NotFound", f'pods "{pod}" not found')
        names = [c["name"] for c in found["spec"]["containers"]]
        if container is None:
            if len(names) > 1:
                raise FakeLogError(400, "BadRequest", f"a container name must be specified for pod {pod}, "
                                   f"choose one of: [{' '.join(names)}]")
            container = names[0]
        key = (namespace, pod, container, previous)
        if key not in self.logs:
            which = "previous terminated container" if previous else "container"
            raise FakeLogError(400, "BadRequest", f'{which} "{container}" in pod "{pod}" not found')
        return self.logs[key]


def _pod(name: str, ns: str, labels: dict[str, str], containers: list[str], status: dict[str, Any],
         node: str | None = "node-1", owner: dict[str, Any] | None = None,
         init: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": c, "image": f"registry.local/{c}:1.0"} for c in containers]}
    if init:
        spec["initContainers"] = [{"name": c, "image": f"registry.local/{c}:1.0"} for c in init]
    if node:
        spec["nodeName"] = node
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels, "creationTimestamp": ago(minutes=30)}
    if owner:
        meta["ownerReferences"] = [owner]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def _cs(name: str, **fields: Any) -> dict[str, Any]:
    """A container status with the fields kubernetes-client 37's pydantic models require."""
    return {"name": name, "image": f"registry.local/{name}:1.0", "imageID": "", "ready": False,
            "restartCount": 0, **fields}


def _running(name: str, ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    return _cs(name, ready=ready, restartCount=restarts, state={"running": {"startedAt": ago(minutes=29)}})


def _event(ns: str, name: str, pod: dict[str, Any], type_: str, reason: str, message: str,
           count: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod["metadata"]["name"],
                           "uid": pod["metadata"]["uid"], "apiVersion": "v1"},
        "reason": reason, "message": message, "type": type_, "count": count,
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(minutes=20), "lastTimestamp": ago(minutes=1),
    }


def build_store(history: int = 2000) -> tuple[ObjectStore, FakeController]:
    """A small cluster with the pod states the printers must tell apart."""
    store = ObjectStore(clock=lambda: NOW, history=history)
    controller = FakeController(store)
    for ns in ("default", "shop", "kube-system"):
        store.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns,
                   "creationTimestamp": ago(days=3)}, "status": {"phase": "Active"}})
    store.put({"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": "node-1", "labels": {"node-role.kubernetes.io/control-plane": ""},
        "creationTimestamp": ago(days=3)},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "nodeInfo": {"kubeletVersion": "v1.32.4"},
                   "addresses": [{"type": "InternalIP", "address": "10.0.0.11"}]}})
    deploy = store.put({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "web", "namespace": "shop", "labels": {"app": "web"}, "creationTimestamp": ago(minutes=30)},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "web", "image": "registry.local/web:1.0",
                 "env": [{"name": "MODE", "value": "prod"}],
                 "ports": [{"containerPort": 8080}]}]}}},
        "status": {"replicas": 2, "readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1}})
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9c", "controller": True}
    rs = store.put({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
        "name": "web-5d9c", "namespace": "shop", "labels": {"app": "web"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                             "uid": deploy["metadata"]["uid"], "controller": True}]},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"replicas": 2, "readyReplicas": 1}})
    owner["uid"] = rs["metadata"]["uid"]
    ok = store.put(_pod("web-5d9c-ok", "shop", {"app": "web", "tier": "front"}, ["web"], {
        "phase": "Running", "podIP": "10.1.0.5", "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [_running("web")]}, owner=owner))
    oom = store.put(_pod("web-5d9c-oom", "shop", {"app": "web", "tier": "front"}, ["web"], {
        "phase": "Running", "podIP": "10.1.0.6",
        "containerStatuses": [_cs("web", restartCount=7,
                                  state={"waiting": {"reason": "CrashLoopBackOff",
                                                     "message": "back-off 5m0s restarting failed container"}},
                                  lastState={"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                                            "startedAt": ago(minutes=3),
                                                            "finishedAt": ago(minutes=2)}})]}, owner=owner))
    store.put(_pod("init-broken", "shop", {"app": "recommendation"}, ["main"], {
        "phase": "Pending",
        "initContainerStatuses": [_cs("setup", restartCount=4, state={"waiting": {"reason": "CrashLoopBackOff"}},
                                      lastState={"terminated": {"exitCode": 1, "reason": "Error",
                                                                "finishedAt": ago(minutes=1)}})],
        "containerStatuses": [_cs("main", state={"waiting": {"reason": "PodInitializing"}})]}, init=["setup"]))
    store.put(_pod("pending", "default", {"app": "gpu"}, ["job"], {
        "phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                            "reason": "Unschedulable"}]}, node=None))
    store.put(_pod("pull", "default", {"app": "pull"}, ["app", "sidecar"], {
        "phase": "Pending", "containerStatuses": [
            _cs("app", state={"waiting": {"reason": "ImagePullBackOff",
                                          "message": 'Back-off pulling image "nginx:invalid-tag"'}}),
            _running("sidecar")]}))
    store.put(_event("shop", "web-5d9c-oom.1", oom, "Warning", "BackOff",
                     "Back-off restarting failed container web in pod web-5d9c-oom_shop(x)", count=12))
    store.put(_event("shop", "web-5d9c-ok.1", ok, "Normal", "Started", "Started container web"))
    store.put({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.20", "selector": {"app": "web"},
                        "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
    store.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
               "type": "Opaque", "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}})
    store.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config", "namespace": "shop"},
               "data": {"config.json": "{}"}})
    store.put({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
               "metadata": {"name": "web-5d9c-ok", "namespace": "shop"}, "timestamp": ago(seconds=10),
               "window": "30s", "containers": [{"name": "web", "usage": {"cpu": "12m", "memory": "64Mi"}}]})
    controller.logs[("shop", "web-5d9c-ok", "web", False)] = "listening on :8080\nGET / 200\n"
    controller.logs[("shop", "web-5d9c-oom", "web", True)] = "loading cache\nallocating 512Mi\n"
    controller.logs[("shop", "web-5d9c-oom", "web", False)] = "loading cache\n"
    return store, controller


@dataclass
class Served:
    url: str
    store: ObjectStore
    controller: FakeController
    kubeconfig: Path
    server: SimHTTPServer

    def kubectl(self, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
        return run_kubectl(self.kubeconfig, *args, timeout=timeout)


def run_kubectl(kubeconfig: Path, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    # A private cache dir: discovery is cached per host:port, and the tests must not touch ~/.kube.
    cache = kubeconfig.parent / "kube-cache"
    env = {**os.environ, "HOME": str(kubeconfig.parent), "KUBECONFIG": ""}
    return subprocess.run([KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
                          capture_output=True, text=True, timeout=timeout, env=env, check=False)


@contextmanager
def serve(tmp_path: Path, history: int = 2000) -> Iterator[Served]:
    store, controller = build_store(history)
    server = SimHTTPServer(("127.0.0.1", 0), store, controller).start()
    try:
        yield Served(server.url, store, controller, write_kubeconfig(tmp_path / "kubeconfig", server.url), server)
    finally:
        server.stop()


def python_client(kubeconfig: Path) -> Any:
    from kubernetes import config

    return config.new_client_from_config(config_file=str(kubeconfig))


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def request(url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
            timeout: float = 10) -> Reply:
    """One raw HTTP request (for what the clients never send: bad JSON, odd paths, big bodies)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    try:
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def watch_events(url: str, path: str, count: int, timeout: float = 5) -> list[dict[str, Any]]:
    """Read the first `count` events of a watch stream, then hang up (no waiting for the server's timeout)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        assert resp.getheader("Transfer-Encoding") == "chunked"
        return [json.loads(resp.readline()) for _ in range(count)]
    finally:
        conn.close()
