"""Every shipped scenario, served for real: kubectl and the Python client against sim.runtime.

For each scenario one sim is started; the kubectl commands an agent or a human would run first
(get pods, describe, logs --previous, get events) run concurrently against it, and their output is
checked against what the store and the controller hold.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from sim.controller import LogError
from sim.runtime import RunningSim, start_sim
from sim.scenario import shipped_scenarios
from sim.tables import pod_status
from tests.sim.api_support import python_client, run_kubectl

SCENARIOS = shipped_scenarios()


@dataclass
class Session:
    sim: RunningSim
    first_pod: dict[str, Any] | None
    restarted: tuple[dict[str, Any], str] | None  # a pod and a container that has restarted
    out: dict[str, subprocess.CompletedProcess[str]]


def _restarted(pods: list[dict[str, Any]]) -> tuple[dict[str, Any], str] | None:
    for pod in pods:
        status = pod.get("status") or {}
        for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
            if int(cs.get("restartCount") or 0) > 0:
                return pod, cs["name"]
    return None


@pytest.fixture(scope="module", params=SCENARIOS, ids=[p.stem for p in SCENARIOS])
def session(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    sim = start_sim(request.param, kubeconfig_dir=tmp_path_factory.mktemp(request.param.stem))
    try:
        pods = sim.store.list("Pod")
        first = pods[0] if pods else None
        restarted = _restarted(pods)
        commands: dict[str, list[str]] = {"pods": ["get", "pods", "-A"], "events": ["get", "events", "-A"]}
        if first is not None:
            meta = first["metadata"]
            commands["describe"] = ["describe", "pod", "-n", meta["namespace"], meta["name"]]
        if restarted is not None:
            pod, container = restarted
            commands["previous"] = ["logs", "-n", pod["metadata"]["namespace"], pod["metadata"]["name"],
                                    "-c", container, "--previous"]
        elif first is not None and first["spec"].get("containers"):
            # No container has restarted: the API server answers --previous with its own error.
            meta = first["metadata"]
            commands["no_previous"] = ["logs", "-n", meta["namespace"], meta["name"], "-c",
                                       first["spec"]["containers"][0]["name"], "--previous"]
        with ThreadPoolExecutor(max_workers=len(commands)) as pool:
            futures = {k: pool.submit(run_kubectl, sim.kubeconfig_path, *args) for k, args in commands.items()}
            out = {k: f.result() for k, f in futures.items()}
        yield Session(sim, first, restarted, out)
    finally:
        sim.stop()


def _ok(session: Session, key: str) -> str:
    if key not in session.out:
        pytest.skip(f"scenario {session.sim.scenario.name} has nothing for `{key}`")
    result = session.out[key]
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_get_pods_lists_every_pod_with_its_derived_status(session: Session) -> None:
    lines = _ok(session, "pods").splitlines()
    pods = session.sim.store.list("Pod")
    if not pods:
        assert lines == []
        return
    assert lines[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = {(r[0], r[1]): r for r in (line.split() for line in lines[1:])}
    assert len(rows) == len(pods)
    for pod in pods:
        reason, ready, total, _, _ = pod_status(pod)
        row = rows[(pod["metadata"]["namespace"], pod["metadata"]["name"])]
        assert row[2:4] == [f"{ready}/{total}", reason]


def test_describe_pod_shows_its_containers_and_events(session: Session) -> None:
    text = _ok(session, "describe")
    pod = session.first_pod
    assert pod is not None
    assert text.splitlines()[0].split() == ["Name:", pod["metadata"]["name"]]
    for container in pod["spec"]["containers"]:
        assert f"  {container['name']}:" in text
    uid = pod["metadata"]["uid"]
    reasons = {e["reason"] for e in session.sim.store.list("Event", pod["metadata"]["namespace"])
               if (e.get("involvedObject") or {}).get("uid") == uid}
    events = text.split("\nEvents:", 1)[1]
    assert all(reason in events for reason in reasons), (reasons, events)
    if not reasons:
        assert events.strip() == "<none>"


def test_logs_previous_match_the_controller(session: Session) -> None:
    if session.restarted is None:
        # Nothing restarted: kubectl must relay the API server's own error, not print an empty log.
        if session.first_pod is None:
            assert "no_previous" not in session.out
            return
        result = session.out["no_previous"]
        container = session.first_pod["spec"]["containers"][0]["name"]
        if not session.first_pod["spec"].get("nodeName"):
            # Unscheduled: the API server has no node to ask and answers an empty log, as Kubernetes does.
            assert (result.returncode, result.stdout) == (0, ""), result.stderr
            return
        assert result.returncode != 0 and result.stdout == ""
        assert f'previous terminated container "{container}" in pod "{session.first_pod["metadata"]["name"]}" ' \
               "not found" in result.stderr
        return
    text = _ok(session, "previous")
    pod, container = session.restarted
    expected = session.sim.controller.read_log(pod["metadata"]["namespace"], pod["metadata"]["name"],
                                               container, True)
    assert text == expected


def test_get_events_lists_every_event(session: Session) -> None:
    text = _ok(session, "events")
    events = session.sim.store.list("Event")
    if not events:
        assert text == ""
        return
    lines = text.splitlines()
    assert lines[0].split()[:6] == ["NAMESPACE", "LAST", "SEEN", "TYPE", "REASON", "OBJECT"]
    assert len(lines) == len(events) + 1
    for event in events:
        obj = event["involvedObject"]
        assert any(event["reason"] in line and f"{obj['kind'].lower()}/{obj['name']}" in line for line in lines)


def test_python_client_lists_pods_and_reads_logs(session: Session) -> None:
    from kubernetes import client

    v1 = client.CoreV1Api(python_client(session.sim.kubeconfig_path))
    for namespace in {p["metadata"]["namespace"] for p in session.sim.store.list("Pod")}:
        listed = v1.list_namespaced_pod(namespace)
        assert [p.metadata.name for p in listed.items] == [
            p["metadata"]["name"] for p in session.sim.store.list("Pod", namespace)]
    for pod in session.sim.store.list("Pod"):
        meta = pod["metadata"]
        container = pod["spec"]["containers"][0]["name"]
        try:
            expected: str | int = session.sim.controller.read_log(meta["namespace"], meta["name"], container, False)
        except LogError as exc:  # the client must see the same refusal
            expected = exc.code
        try:
            got: str | int = v1.read_namespaced_pod_log(meta["name"], meta["namespace"], container=container)
        except client.ApiException as exc:
            got = exc.status
        assert got == expected, meta["name"]


def test_python_client_patches_a_deployment(session: Session) -> None:
    from kubernetes import client

    sim = session.sim
    fix = sim.scenario.expect.fix
    target = fix.target or sim.scenario.expect.resource if fix is not None else None
    deployments = sim.store.list("Deployment")
    if target is not None and fix is not None and fix.patch and target.kind == "Deployment" and not fix.recreate:
        namespace, name, patch = target.namespace or "default", target.name, fix.patch
    elif deployments:
        meta = deployments[0]["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        patch = {"spec": {"template": {"metadata": {"annotations": {"sim.test/restartedAt": "now"}}}}}
    else:
        pytest.skip(f"scenario {sim.scenario.name} has no Deployment")
    apps = client.AppsV1Api(python_client(sim.kubeconfig_path))
    before = sim.store.get("Deployment", namespace, name)
    assert before is not None
    result = apps.patch_namespaced_deployment(name, namespace, patch)
    from sim.patching import strategic_merge_patch

    expected = strategic_merge_patch(before, patch)["spec"]["template"]
    got = apps.read_namespaced_deployment(name, namespace)
    assert client.ApiClient().sanitize_for_serialization(got.spec.template) == expected
    assert result.metadata.generation == before["metadata"]["generation"] + 1
    # The controller reconciled the change: the world it left still lists and serializes.
    listed = client.CoreV1Api(apps.api_client).list_pod_for_all_namespaces()
    assert [p.metadata.name for p in listed.items] == [p["metadata"]["name"] for p in sim.store.list("Pod")]
