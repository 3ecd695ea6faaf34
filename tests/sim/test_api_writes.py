"""Writes: create/update/delete semantics, dry runs, cascading deletion, logs and event conversion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sim.api_support import Served, ago, python_client, request, serve


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path) as served:
        yield served


def _core(sim: Served) -> Any:
    from kubernetes import client

    return client.CoreV1Api(python_client(sim.kubeconfig))


def test_create_fills_server_fields_and_reconciles(sim: Served) -> None:
    body = {"metadata": {"generateName": "job-", "uid": "client-made"}, "data": {"a": "b"}}
    reply = request(sim.url, "POST", "/api/v1/namespaces/shop/configmaps", body)
    assert reply.status == 201
    created = reply.json()
    meta = created["metadata"]
    assert meta["name"].startswith("job-") and len(meta["name"]) == 9
    assert meta["uid"] != "client-made" and meta["namespace"] == "shop"
    assert int(meta["resourceVersion"]) == sim.store.resource_version
    assert (created["kind"], created["apiVersion"]) == ("ConfigMap", "v1")
    assert sim.controller.reconciles == 1


def test_dry_run_create_stores_nothing(sim: Served) -> None:
    body = {"metadata": {"name": "trial"}, "data": {"a": "b"}}
    reply = request(sim.url, "POST", "/api/v1/namespaces/shop/configmaps?dryRun=All", body)
    assert reply.status == 201 and reply.json()["metadata"]["name"] == "trial"
    assert sim.store.get("ConfigMap", "shop", "trial") is None
    assert sim.controller.reconciles == 0


def test_put_with_current_resource_version_updates_and_keeps_status(sim: Served) -> None:
    deploy = request(sim.url, "GET", "/apis/apps/v1/namespaces/shop/deployments/web").json()
    deploy["spec"]["replicas"] = 4
    deploy["status"] = {"readyReplicas": 99}
    reply = request(sim.url, "PUT", "/apis/apps/v1/namespaces/shop/deployments/web", deploy)
    assert reply.status == 200
    assert reply.json()["spec"]["replicas"] == 4 and reply.json()["status"]["readyReplicas"] == 1
    assert reply.json()["metadata"]["generation"] == 2


def test_status_subresource_writes_only_status(sim: Served) -> None:
    deploy = request(sim.url, "GET", "/apis/apps/v1/namespaces/shop/deployments/web").json()
    deploy["spec"]["replicas"] = 7
    deploy["status"]["readyReplicas"] = 2
    reply = request(sim.url, "PUT", "/apis/apps/v1/namespaces/shop/deployments/web/status", deploy)
    assert reply.status == 200
    assert (reply.json()["spec"]["replicas"], reply.json()["status"]["readyReplicas"]) == (2, 2)


def test_job_template_is_immutable(sim: Served) -> None:
    job = {"metadata": {"name": "once"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "curl", "args": ["http://bad"]}]}}}}
    assert request(sim.url, "POST", "/apis/batch/v1/namespaces/shop/jobs", job).status == 201
    reply = request(sim.url, "PATCH", "/apis/batch/v1/namespaces/shop/jobs/once",
                    {"spec": {"template": {"spec": {"containers": [{"name": "c", "args": ["http://good"]}]}}}},
                    {"Content-Type": "application/strategic-merge-patch+json"})
    assert reply.status == 422
    assert reply.json()["message"].startswith('Job.batch "once" is invalid: spec.template: Invalid value:')
    assert reply.json()["message"].endswith("field is immutable")


def test_deleting_a_deployment_cascades_to_replicasets_and_pods(sim: Served) -> None:
    from kubernetes import client

    client.AppsV1Api(python_client(sim.kubeconfig)).delete_namespaced_deployment("web", "shop")
    assert sim.store.get("ReplicaSet", "shop", "web-5d9c") is None
    assert [p["metadata"]["name"] for p in sim.store.list("Pod", "shop")] == ["init-broken"]
    assert sim.controller.reconciles == 1


def test_orphan_deletion_keeps_dependents_without_the_owner_reference(sim: Served) -> None:
    reply = request(sim.url, "DELETE", "/apis/apps/v1/namespaces/shop/replicasets/web-5d9c",
                    {"propagationPolicy": "Orphan"})
    assert reply.status == 200 and reply.json()["metadata"]["name"] == "web-5d9c"
    pod = sim.store.get("Pod", "shop", "web-5d9c-ok")
    assert pod is not None and pod["metadata"].get("ownerReferences") == []


def test_deleting_a_namespace_removes_its_objects(sim: Served) -> None:
    result = sim.kubectl("delete", "namespace", "shop")
    assert result.returncode == 0, result.stderr
    assert sim.store.list("Pod", "shop") == [] and sim.store.list("Secret", "shop") == []
    assert [p["metadata"]["name"] for p in sim.store.list("Pod")] == ["pending", "pull"]


def test_kubectl_delete_pod_and_dry_run(sim: Served) -> None:
    dry = sim.kubectl("delete", "pod", "pending", "--dry-run=server")
    assert dry.returncode == 0 and dry.stdout.strip() == 'pod "pending" deleted (server dry run)'
    assert sim.store.get("Pod", "default", "pending") is not None
    gone = sim.kubectl("delete", "pod", "pending")
    assert gone.returncode == 0 and gone.stdout.strip() == 'pod "pending" deleted'
    assert sim.store.get("Pod", "default", "pending") is None


def test_secret_values_never_leave_and_survive_a_round_trip(sim: Served) -> None:
    v1 = _core(sim)
    secret = v1.read_namespaced_secret("db", "shop")
    assert secret.data == {"password": "", "user": ""}
    secret.metadata.labels = {"rotated": "no"}
    updated = v1.replace_namespaced_secret("db", "shop", secret)
    assert updated.data == {"password": "", "user": ""}
    v1.patch_namespaced_secret("db", "shop", {"metadata": {"annotations": {"a": "b"}}})
    stored = sim.store.get("Secret", "shop", "db")
    assert stored is not None and stored["data"] == {"password": "aHVudGVyMg==", "user": "YWRtaW4="}
    listed = request(sim.url, "GET", "/api/v1/secrets")
    assert b"aHVudGVy" not in listed.body and b"YWRtaW4" not in listed.body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("previous=true", "loading cache\nallocating 512Mi\n"),
        ("previous=true&tailLines=1", "allocating 512Mi\n"),
        ("previous=true&limitBytes=7", "loading"),
        ("", "loading cache\n"),
        ("container=web", "loading cache\n"),
        ("previous=true&sinceSeconds=60", ""),  # that run started three minutes ago
        ("previous=true&sinceSeconds=600", "loading cache\nallocating 512Mi\n"),
    ],
)
def test_log_parameters(sim: Served, query: str, expected: str) -> None:
    reply = request(sim.url, "GET", f"/api/v1/namespaces/shop/pods/web-5d9c-oom/log?{query}")
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "text/plain"
    assert reply.body.decode() == expected


def test_log_timestamps_use_the_run_start(sim: Served) -> None:
    text = _core(sim).read_namespaced_pod_log("web-5d9c-oom", "shop", previous=True, timestamps=True)
    stamp = ago(minutes=3).replace("Z", ".000000000Z")  # the fixture's previous run started 3 minutes ago
    assert text == f"{stamp} loading cache\n{stamp} allocating 512Mi\n"


@pytest.mark.parametrize(
    ("path", "code", "message"),
    [
        ("/api/v1/namespaces/default/pods/pull/log", 400,
         "a container name must be specified for pod pull, choose one of: [app sidecar]"),
        ("/api/v1/namespaces/shop/pods/web-5d9c-ok/log?previous=true", 400,
         'previous terminated container "web" in pod "web-5d9c-ok" not found'),
        ("/api/v1/namespaces/shop/pods/ghost/log", 404, 'pods "ghost" not found'),
    ],
)
def test_log_errors_come_from_the_controller(sim: Served, path: str, code: int, message: str) -> None:
    reply = request(sim.url, "GET", path)
    assert (reply.status, reply.json()["message"]) == (code, message)


def test_kubectl_logs_previous(sim: Served) -> None:
    result = sim.kubectl("logs", "-n", "shop", "web-5d9c-oom", "--previous")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "loading cache\nallocating 512Mi\n"


def test_events_k8s_io_is_the_same_event_in_the_new_shape(sim: Served) -> None:
    doc = request(sim.url, "GET", "/apis/events.k8s.io/v1/namespaces/shop/events/web-5d9c-oom.1").json()
    assert doc["apiVersion"] == "events.k8s.io/v1"
    assert doc["regarding"]["name"] == "web-5d9c-oom" and doc["note"].startswith("Back-off restarting")
    assert (doc["reportingController"], doc["deprecatedCount"], doc["type"]) == ("kubelet", 12, "Warning")
    created = request(sim.url, "POST", "/apis/events.k8s.io/v1/namespaces/shop/events", {
        "metadata": {"name": "manual"}, "regarding": {"kind": "Pod", "name": "web-5d9c-ok", "namespace": "shop"},
        "note": "hello", "reason": "Test", "type": "Normal", "reportingController": "me",
        "eventTime": "2025-01-01T00:00:00.000000Z", "action": "Testing", "reportingInstance": "me-1"})
    assert created.status == 201, created.body
    core = request(sim.url, "GET", "/api/v1/namespaces/shop/events/manual").json()
    assert (core["message"], core["involvedObject"]["name"], core["reportingComponent"]) == (
        "hello", "web-5d9c-ok", "me")


def test_kubectl_describe_pod_finds_its_events(sim: Served) -> None:
    result = sim.kubectl("describe", "pod", "-n", "shop", "web-5d9c-oom")
    assert result.returncode == 0, result.stderr
    assert "Reason:       OOMKilled" in result.stdout and "Exit Code:    137" in result.stdout
    events = result.stdout.split("Events:", 1)[1]
    assert "BackOff" in events and "(x12 over" in events and "Started container" not in events
