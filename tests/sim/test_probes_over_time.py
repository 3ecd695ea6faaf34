"""Probes over time, as the kubelet's prober workers run them: initialDelaySeconds, periodSeconds,
failureThreshold, timeoutSeconds, startupProbe, and a process that needs `startup_seconds` before it
listens; exec and gRPC probes with outcomes from world facts. Read with the real kubectl and the client;
each fix goes through the API.

Upstream wording (kubernetes/kubernetes):
- pkg/kubelet/kuberuntime/kuberuntime_manager.go: "Container %s failed liveness probe" / "Container %s failed
  startup probe", then "%s, will be restarted" (the Killing event)
- pkg/kubelet/prober/prober.go: "%s probe failed: %s" (Unhealthy), probe type Liveness/Readiness/Startup
- pkg/probe/http: Go's net/http errors, `Get "http://ip:port/path": dial tcp ip:port: connect: connection refused`,
  `... context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
- pkg/probe/grpc/grpc.go: `service unhealthy (responded with %q)`,
  `timeout: failed to connect service %q within %v: %+v`
- pkg/probe/exec: the command's output; runc: `OCI runtime exec failed: exec failed: unable to start container
  process: exec: "curl": executable file not found in $PATH: unknown`
- docs (configure-liveness-readiness-startup-probes): a startupProbe gives failureThreshold * periodSeconds to start
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes import client as k8s

from tests.sim.sim_cases import Case, deployment, ready, served

HEALTH = {"httpGet": {"path": "/healthz", "port": 8080}}
SLOW = {"registry.local/slow-app": {"listens": [8080], "startup_seconds": 75, "sigterm_exit_code": 143,
                                    "logs": ["booting: running migrations"],
                                    "ready_logs": ["Started SlowApp in 74.2 seconds"]}}


def _app(probes: dict[str, Any], image: str = "registry.local/slow-app:1.0", **container: Any) -> dict[str, Any]:
    return deployment("app", "shop", image=image,
                      container={"ports": [{"name": "http", "containerPort": 8080}], **probes, **container})


def _only_pod(case: Case) -> dict[str, Any]:
    pods = case.pods("shop", "app")
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    return pods[0]


def _ready_pods(case: Case) -> list[dict[str, Any]]:
    return [p for p in case.pods("shop", "app") if ready(p)]


def test_liveness_that_fires_before_the_process_is_up_kills_it_and_a_startup_probe_fixes_it(tmp_path: Path) -> None:
    live = {"livenessProbe": {**HEALTH, "initialDelaySeconds": 10, "periodSeconds": 10, "failureThreshold": 3}}
    with served(tmp_path, objects=[_app(live)], world={"images": SLOW, "fault_age": "20m"}) as case:
        pod = _only_pod(case)
        name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
        events = case.events(name)
        assert ("Killing", "Container app failed liveness probe, will be restarted") in events
        assert ("Unhealthy", f'Liveness probe failed: Get "http://{ip}:8080/healthz": dial tcp {ip}:8080: connect: '
                             "connection refused") in events
        status = k8s.CoreV1Api(case.client()).read_namespaced_pod(name, "shop").status.container_statuses[0]
        assert status.restart_count >= 3 and status.last_state.terminated.exit_code == 143
        assert status.state.waiting.reason == "CrashLoopBackOff"
        described = case.kubectl("describe", "pod", "-n", "shop", name)
        assert "Liveness:" in described and "delay=10s" in described and "#failure=3" in described
        previous = case.kubectl("logs", "-n", "shop", name, "--previous")
        assert "booting: running migrations" in previous and "Started SlowApp" not in previous
        case.kubectl("patch", "deployment", "app", "-n", "shop", "--type", "strategic", "-p",
                     '{"spec": {"template": {"spec": {"containers": [{"name": "app", "startupProbe": '
                     '{"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10, "failureThreshold": 12}}]}}}}')
        (fixed,) = _ready_pods(case)
        assert fixed["status"]["containerStatuses"][0]["restartCount"] == 0
        assert "Started SlowApp in 74.2 seconds" in case.kubectl("logs", "-n", "shop", fixed["metadata"]["name"])


def test_a_liveness_budget_longer_than_the_start_only_records_the_early_failures(tmp_path: Path) -> None:
    live = {"livenessProbe": {**HEALTH, "initialDelaySeconds": 30, "periodSeconds": 10, "failureThreshold": 5}}
    with served(tmp_path, objects=[_app(live)], world={"images": SLOW}) as case:
        pod = _only_pod(case)
        ip = pod["status"]["podIP"]
        assert ready(pod) and pod["status"]["containerStatuses"][0]["restartCount"] == 0
        unhealthy = [e for e in case.store.list("Event") if e["reason"] == "Unhealthy"]
        # Checks at 40, 50, 60 and 70 s are refused; the one at 80 s finds the process up (75 s).
        assert [(e["message"], e["count"]) for e in unhealthy] == [
            (f'Liveness probe failed: Get "http://{ip}:8080/healthz": dial tcp {ip}:8080: connect: connection refused',
             4)]
        assert not [e for e in case.store.list("Event") if e["reason"] == "Killing"]


def test_a_startup_probe_budget_shorter_than_the_start_kills_with_its_own_words(tmp_path: Path) -> None:
    startup = {"startupProbe": {**HEALTH, "periodSeconds": 5, "failureThreshold": 6},
               "livenessProbe": {**HEALTH, "periodSeconds": 10}}
    with served(tmp_path, objects=[_app(startup)], world={"images": SLOW}) as case:
        pod = _only_pod(case)
        name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
        events = case.events(name)
        assert ("Killing", "Container app failed startup probe, will be restarted") in events
        assert ("Unhealthy", f'Startup probe failed: Get "http://{ip}:8080/healthz": dial tcp {ip}:8080: connect: '
                             "connection refused") in events
        assert not any(message.startswith("Liveness probe failed") for _, message in events)
        case.kubectl("patch", "deployment", "app", "-n", "shop", "--type", "json", "-p",
                     '[{"op": "replace", "path": "/spec/template/spec/containers/0/startupProbe/failureThreshold",'
                     ' "value": 30}]')
        assert len(_ready_pods(case)) == 1


def test_exec_probe_outcomes_come_from_the_image_and_the_world(tmp_path: Path) -> None:
    images = {"registry.local/distroless-api": {"binaries": ["api"], "entrypoint": ["/api"]}}
    probe = {"readinessProbe": {"exec": {"command": ["curl", "-fsS", "http://localhost:8080/ready"]}}}
    with served(tmp_path, objects=[_app(probe, image="registry.local/distroless-api:2.0")],
                world={"images": images}) as case:
        pod = _only_pod(case)
        assert not ready(pod)
        assert ("Unhealthy", 'Readiness probe failed: OCI runtime exec failed: exec failed: unable to start container '
                             'process: exec: "curl": executable file not found in $PATH: unknown') in \
            case.events(pod["metadata"]["name"])
        assert "0/1" in case.kubectl("get", "pods", "-n", "shop")
        case.kubectl("patch", "deployment", "app", "-n", "shop", "--type", "json", "-p",
                     '[{"op": "replace", "path": "/spec/template/spec/containers/0/readinessProbe",'
                     ' "value": {"httpGet": {"path": "/ready", "port": 8080}}}]')
        assert len(_ready_pods(case)) == 1
    world = {"containers": [{"container": "app", "exec_probes": [
        {"command": "pg_isready", "exit_code": 2, "output": "/var/run/postgresql:5432 - no response"}]}]}
    probe = {"livenessProbe": {"exec": {"command": ["pg_isready", "-U", "postgres"]}, "failureThreshold": 3}}
    with served(tmp_path / "pg", objects=[_app(probe, image="postgres:16")], world=world) as case:
        events = case.events(_only_pod(case)["metadata"]["name"])
        assert ("Unhealthy", "Liveness probe failed: /var/run/postgresql:5432 - no response") in events
        assert ("Killing", "Container app failed liveness probe, will be restarted") in events


def test_grpc_probe_reports_the_health_service_answer_and_an_unreachable_port(tmp_path: Path) -> None:
    world = {"containers": [{"container": "app", "listens": [9090], "grpc_health": "NOT_SERVING"}]}
    probe = {"livenessProbe": {"grpc": {"port": 9090}, "periodSeconds": 10}}
    with served(tmp_path, objects=[_app(probe, image="registry.local/grpc-api:1.0")], world=world) as case:
        assert ("Unhealthy", 'Liveness probe failed: service unhealthy (responded with "NOT_SERVING")') in \
            case.events(_only_pod(case)["metadata"]["name"])
    world = {"containers": [{"container": "app", "listens": [9090]}]}
    probe = {"readinessProbe": {"grpc": {"port": 9091}}}
    with served(tmp_path / "port", objects=[_app(probe, image="registry.local/grpc-api:1.0")], world=world) as case:
        pod = _only_pod(case)
        ip = pod["status"]["podIP"]
        assert ("Unhealthy", f'Readiness probe failed: timeout: failed to connect service "{ip}:9091" within 1s: '
                             "context deadline exceeded") in case.events(pod["metadata"]["name"])
        case.kubectl("patch", "deployment", "app", "-n", "shop", "--type", "json", "-p",
                     '[{"op": "replace", "path": "/spec/template/spec/containers/0/readinessProbe/grpc/port",'
                     ' "value": 9090}]')
        assert len(_ready_pods(case)) == 1


def test_a_probe_slower_than_its_timeout_fails_until_the_timeout_is_raised(tmp_path: Path) -> None:
    world = {"containers": [{"container": "app", "listens": [8080], "probe_seconds": 3}]}
    probe = {"readinessProbe": {**HEALTH, "timeoutSeconds": 1}}
    with served(tmp_path, objects=[_app(probe, image="registry.local/api:1.0")], world=world) as case:
        pod = _only_pod(case)
        ip = pod["status"]["podIP"]
        assert ("Unhealthy", f'Readiness probe failed: Get "http://{ip}:8080/healthz": context deadline exceeded '
                             "(Client.Timeout exceeded while awaiting headers)") in case.events(pod["metadata"]["name"])
        assert "timeout=1s" in case.kubectl("describe", "pod", "-n", "shop", pod["metadata"]["name"])
        case.kubectl("patch", "deployment", "app", "-n", "shop", "--type", "json", "-p",
                     '[{"op": "replace", "path": "/spec/template/spec/containers/0/readinessProbe/timeoutSeconds",'
                     ' "value": 5}]')
        assert len(_ready_pods(case)) == 1
