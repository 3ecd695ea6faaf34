"""Server-side printing: the columns and derived values `kubectl get` shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sim.tables import human_duration, pod_status
from tests.sim.api_support import Served, request, serve


def _cs(state: dict[str, Any], last: dict[str, Any] | None = None, ready: bool = False,
        restarts: int = 0, name: str = "c") -> dict[str, Any]:
    return {"name": name, "state": state, "lastState": last or {}, "ready": ready, "restartCount": restarts}


def _pod(phase: str, containers: list[dict[str, Any]], init: list[dict[str, Any]] | None = None,
         conditions: list[dict[str, Any]] | None = None, n_init: int = 0, **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", **meta},
            "spec": {"containers": [{"name": c["name"]} for c in containers],
                     "initContainers": [{"name": f"i{n}"} for n in range(n_init)]},
            "status": {"phase": phase, "containerStatuses": containers, "initContainerStatuses": init or [],
                       "conditions": conditions or []}}


OOM = {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2025-01-01T00:00:00Z"}}


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        pytest.param(_pod("Running", [_cs({"running": {}}, ready=True)]), ("Running", 1, 1, 0), id="running"),
        pytest.param(_pod("Running", [_cs({"waiting": {"reason": "CrashLoopBackOff"}}, OOM, restarts=5)]),
                     ("CrashLoopBackOff", 0, 1, 5), id="crashloop"),
        pytest.param(_pod("Running", [_cs(OOM, restarts=1)]), ("OOMKilled", 0, 1, 1), id="oomkilled"),
        pytest.param(_pod("Running", [_cs({"terminated": {"exitCode": 2}})]), ("ExitCode:2", 0, 1, 0),
                     id="exit-code"),
        pytest.param(_pod("Running", [_cs({"terminated": {"exitCode": 0, "signal": 9}})]), ("Signal:9", 0, 1, 0),
                     id="signal"),
        pytest.param(_pod("Pending", []), ("Pending", 0, 0, 0), id="pending"),
        pytest.param(_pod("Pending", [_cs({"waiting": {"reason": "ImagePullBackOff"}})]),
                     ("ImagePullBackOff", 0, 1, 0), id="image-pull"),
        pytest.param(_pod("Pending", [_cs({"waiting": {"reason": "PodInitializing"}})],
                          [_cs({"waiting": {"reason": "CrashLoopBackOff"}}, restarts=3, name="i0")], n_init=1),
                     ("Init:CrashLoopBackOff", 0, 1, 3), id="init-crashloop"),
        pytest.param(_pod("Pending", [_cs({"waiting": {"reason": "PodInitializing"}})],
                          [_cs({"terminated": {"exitCode": 0}}, name="i0"), _cs({"running": {}}, name="i1")],
                          n_init=2), ("Init:1/2", 0, 1, 0), id="init-progress"),
        pytest.param(_pod("Pending", [_cs({"waiting": {"reason": "PodInitializing"}})],
                          [_cs({"terminated": {"exitCode": 1}}, name="i0")], n_init=1),
                     ("Init:ExitCode:1", 0, 1, 0), id="init-exit-code"),
        pytest.param(_pod("Failed", []), ("Failed", 0, 0, 0), id="failed-phase"),
        pytest.param({**_pod("Failed", []), "status": {"phase": "Failed", "reason": "Evicted"}},
                     ("Evicted", 0, 0, 0), id="evicted"),
        pytest.param(_pod("Running", [_cs({"running": {}}, ready=True)], deletionTimestamp="2025-01-01T00:00:00Z"),
                     ("Terminating", 1, 1, 0), id="terminating"),
        pytest.param(_pod("Succeeded", [_cs({"terminated": {"exitCode": 0, "reason": "Completed"}})]),
                     ("Completed", 0, 1, 0), id="completed"),
        pytest.param(_pod("Pending", [], conditions=[{"type": "PodScheduled", "reason": "SchedulingGated"}]),
                     ("SchedulingGated", 0, 0, 0), id="gated"),
    ],
)
def test_pod_status_column(pod: dict[str, Any], expected: tuple[str, int, int, int]) -> None:
    assert pod_status(pod)[:4] == expected


@pytest.mark.parametrize(("seconds", "text"), [(-5, "<invalid>"), (0, "0s"), (119, "119s"), (125, "2m5s"),
                                               (600, "10m"), (3 * 3600 + 60, "3h1m"), (9 * 3600, "9h"),
                                               (50 * 3600, "2d2h"), (400 * 86400, "400d"),
                                               (3 * 365 * 86400, "3y")])
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("tables")) as served:
        yield served


TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"


def test_table_rows_carry_partial_metadata(sim: Served) -> None:
    table = request(sim.url, "GET", "/api/v1/namespaces/shop/pods", headers={"Accept": TABLE}).json()
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == [
        "Name", "Ready", "Status", "Restarts", "Age"]
    row = table["rows"][2]
    assert row["cells"][:4] == ["web-5d9c-oom", "0/1", "CrashLoopBackOff", "7 (2m ago)"]
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["namespace"] == "shop"


def test_plain_json_when_no_table_is_asked(sim: Served) -> None:
    doc = request(sim.url, "GET", "/api/v1/namespaces/shop/pods", headers={"Accept": "application/json"}).json()
    assert doc["kind"] == "PodList" and doc["items"][0]["spec"]["containers"]


def test_kubectl_get_pods_all_namespaces(sim: Served) -> None:
    result = sim.kubectl("get", "pods", "-A")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert ["default", "pull", "1/2", "ImagePullBackOff", "0", "30m"] in rows
    assert ["shop", "init-broken", "0/1", "Init:CrashLoopBackOff", "4", "(60s", "ago)", "30m"] in rows
    assert ["shop", "web-5d9c-oom", "0/1", "CrashLoopBackOff", "7", "(2m", "ago)", "30m"] in rows


def test_kubectl_get_pods_wide_shows_ip_and_node(sim: Served) -> None:
    result = sim.kubectl("get", "pods", "-n", "shop", "-o", "wide")
    assert result.returncode == 0, result.stderr
    header, *rows = [line.split() for line in result.stdout.splitlines()]
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
                      "READINESS", "GATES"]
    assert any(r[0] == "web-5d9c-ok" and "10.1.0.5" in r and "node-1" in r for r in rows)


def test_kubectl_yaml_and_json_are_plain_objects(sim: Served) -> None:
    import json

    result = sim.kubectl("get", "pods", "-A", "-o", "json")
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)["items"]
    assert {i["metadata"]["name"] for i in items} >= {"pending", "web-5d9c-oom"}
    oom = next(i for i in items if i["metadata"]["name"] == "web-5d9c-oom")
    assert oom["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert "kind: Pod" in sim.kubectl("get", "pod", "pending", "-o", "yaml").stdout


@pytest.mark.parametrize(
    ("args", "expected_lines"),
    [
        (["get", "deploy", "-n", "shop"], [["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
                                           ["web", "1/2", "2", "1", "30m"]]),
        (["get", "nodes"], [["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
                            ["node-1", "Ready", "control-plane", "3d", "v1.32.4"]]),
        (["get", "svc", "-n", "shop"], [["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
                                        ["web", "ClusterIP", "10.96.0.20", "<none>", "80/TCP", "0s"]]),
        (["get", "secrets", "-n", "shop"], [["NAME", "TYPE", "DATA", "AGE"], ["db", "Opaque", "2", "0s"]]),
        (["get", "sa", "-n", "shop"], [["No", "resources", "found", "in", "shop", "namespace."]]),
    ],
    ids=lambda v: v[1] if isinstance(v, list) and isinstance(v[0], str) else None,
)
def test_kubectl_tables_for_other_kinds(sim: Served, args: list[str], expected_lines: list[list[str]]) -> None:
    result = sim.kubectl(*args)
    assert result.returncode == 0, result.stderr
    assert [line.split() for line in (result.stdout + result.stderr).splitlines()] == expected_lines


def test_kubectl_get_events(sim: Served) -> None:
    result = sim.kubectl("get", "events", "-A")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAMESPACE", "LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("Warning" in line and "BackOff" in line and "pod/web-5d9c-oom" in line for line in lines)
