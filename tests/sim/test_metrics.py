"""The sim's /metrics: kube-state-metrics, kubelet and cAdvisor series from the same store the API serves."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client, config
from prometheus_client.parser import text_string_to_metric_families

from sim.runtime import start_sim
from sim.scenario import find_scenario
from sim.quantity import parse_quantity, to_bytes
from tests.support.verification import apply_fix

Samples = list[tuple[str, dict[str, str], float]]

THROTTLED = Path(__file__).resolve().parents[1] / "app" / "monitoring" / "cpu_throttled.yaml"


def scrape(url: str, source: str) -> Samples:
    reply = httpx.get(f"{url}/metrics/{source}", timeout=10)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(reply.text)
            for s in family.samples]


def pick(samples: Samples, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
    return [(lab, value) for n, lab, value in samples if n == name and all(lab.get(k) == v for k, v in labels.items())]


def one(samples: Samples, name: str, **labels: str) -> float:
    found = pick(samples, name, **labels)
    assert len(found) == 1, f"{name}{labels}: {found}"
    return found[0][1]


def test_kube_state_metrics_names_and_labels_for_a_crash_looping_pod() -> None:
    with start_sim(find_scenario("oom_memory_hog")) as sim:
        pod = next(p for p in sim.store.list("Pod", "default") if p["metadata"]["name"].startswith("memory-hog-"))
        name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
        ksm = scrape(sim.url, "kube-state-metrics")
        waiting = pick(ksm, "kube_pod_container_status_waiting_reason", pod=name)
        assert waiting == [({"namespace": "default", "pod": name, "uid": uid, "container": "memory-hog",
                             "reason": "CrashLoopBackOff"}, 1.0)]
        assert one(ksm, "kube_pod_container_status_last_terminated_reason", pod=name, reason="OOMKilled") == 1
        restarts = pod["status"]["containerStatuses"][0]["restartCount"]
        assert restarts > 0 and one(ksm, "kube_pod_container_status_restarts_total", pod=name) == restarts
        assert one(ksm, "kube_pod_container_resource_limits", pod=name, resource="memory", unit="byte") == 100 * 2**20
        assert one(ksm, "kube_pod_status_phase", pod=name, phase="Running") == 1
        assert one(ksm, "kube_pod_status_phase", pod=name, phase="Pending") == 0
        assert one(ksm, "kube_pod_status_ready", pod=name, condition="false") == 1
        owner = pick(ksm, "kube_pod_owner", pod=name)
        assert [o[0]["owner_kind"] for o in owner] == ["ReplicaSet"]
        assert one(ksm, "kube_deployment_spec_replicas", deployment="memory-hog") == 1
        assert one(ksm, "kube_deployment_status_replicas_available", deployment="memory-hog") == 0
        nodes = {lab["node"] for lab, v in pick(ksm, "kube_node_status_condition", condition="Ready", status="true")
                 if v == 1}
        assert nodes == {n["metadata"]["name"] for n in sim.store.list("Node")}


def test_metrics_follow_the_state_after_a_fix() -> None:
    with start_sim(find_scenario("oom_memory_hog")) as sim:
        assert pick(scrape(sim.url, "kube-state-metrics"), "kube_pod_container_status_waiting_reason",
                    reason="CrashLoopBackOff")
        apply_fix(sim)
        ksm = scrape(sim.url, "kube-state-metrics")
        assert not pick(ksm, "kube_pod_container_status_waiting_reason", namespace="default")
        live = [p["metadata"]["name"] for p in sim.store.list("Pod", "default") if not p["metadata"].get("deletionTimestamp")]
        assert live and all(one(ksm, "kube_pod_status_ready", pod=name, condition="true") == 1 for name in live)
        assert one(ksm, "kube_deployment_status_replicas_available", deployment="memory-hog") == 1
        limits = {v for lab, v in pick(ksm, "kube_pod_container_resource_limits", resource="memory") if lab["pod"] in live}
        assert limits == {256 * 2**20}
        # The fixed container now runs, so cAdvisor reports it.
        assert pick(scrape(sim.url, "cadvisor"), "container_memory_working_set_bytes", namespace="default")


def _top(kubeconfig: Path, namespace: str) -> dict[tuple[str, str], dict[str, Any]]:
    api = client.CustomObjectsApi(config.new_client_from_config(config_file=str(kubeconfig)))
    items = api.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", namespace, "pods")["items"]
    return {(i["metadata"]["name"], c["name"]): c["usage"] for i in items for c in i["containers"]}


def test_cadvisor_agrees_with_the_metrics_api(tmp_path: Path) -> None:
    with start_sim(find_scenario("healthy_baseline")) as sim:
        top = _top(sim.kubeconfig_path, "shop")
        assert top
        first = scrape(sim.url, "cadvisor")
        for (pod, container), usage in top.items():
            assert one(first, "container_memory_working_set_bytes", pod=pod, container=container) == \
                to_bytes(usage["memory"])
        # CPU is a counter whose rate is what `kubectl top` shows: poll until the clock has moved on.
        (pod, container), usage = next(iter(sorted(top.items())))
        start, began = one(first, "container_cpu_usage_seconds_total", pod=pod, container=container), time.monotonic()
        deadline = began + 10
        while time.monotonic() - began < 1.0 and time.monotonic() < deadline:
            time.sleep(0.05)
        later = one(scrape(sim.url, "cadvisor"), "container_cpu_usage_seconds_total", pod=pod, container=container)
        rate = (later - start) / (time.monotonic() - began)
        assert rate == pytest.approx(float(parse_quantity(usage["cpu"])), rel=0.25)


def test_throttling_and_volume_stats() -> None:
    with start_sim(THROTTLED) as sim:
        pod = next(p["metadata"]["name"] for p in sim.store.list("Pod", "batch"))
        cadvisor = scrape(sim.url, "cadvisor")
        periods = one(cadvisor, "container_cpu_cfs_periods_total", pod=pod)
        assert periods > 0
        # 250m of demand against a 200m limit: every period is throttled.
        assert one(cadvisor, "container_cpu_cfs_throttled_periods_total", pod=pod) == periods
        assert one(cadvisor, "container_spec_memory_limit_bytes", pod=pod) == 64 * 2**20
        kubelet = scrape(sim.url, "kubelet")
        assert one(kubelet, "kubelet_volume_stats_capacity_bytes", namespace="batch", persistentvolumeclaim="work") == 2**30
        used = one(kubelet, "kubelet_volume_stats_used_bytes", namespace="batch", persistentvolumeclaim="work")
        assert one(kubelet, "kubelet_volume_stats_available_bytes", persistentvolumeclaim="work") == 2**30 - used
        assert one(kubelet, "kubelet_running_pods", node=sim.store.get("Pod", "batch", pod)["spec"]["nodeName"]) >= 1


def test_unknown_metrics_source_is_a_404_and_metrics_has_all_three() -> None:
    with start_sim(find_scenario("node_not_ready")) as sim:
        assert httpx.get(f"{sim.url}/metrics/etcd", timeout=10).status_code == 404
        assert httpx.get(f"{sim.url}/metrics/kubelet/extra", timeout=10).status_code == 404
        everything = httpx.get(f"{sim.url}/metrics", timeout=10).text
        assert "kube_node_spec_taint" in everything and "kubelet_node_name" in everything
        # The stopped kubelet serves nothing; the others do.
        kubelet = scrape(sim.url, "kubelet")
        stopped = {n.name for n in sim.scenario.nodes if n.kubelet_stopped}
        assert stopped and not {lab["node"] for lab, _ in pick(kubelet, "kubelet_node_name")} & stopped


def test_volume_stats_report_what_the_world_says_the_volume_holds() -> None:
    from sim.scenario import load_scenario
    from sim.quantity import to_bytes

    scenario = load_scenario(find_scenario("pvc_disk_full"))
    [usage] = scenario.world.volumes
    with start_sim(scenario) as sim:
        kubelet = scrape(sim.url, "kubelet")
        used = one(kubelet, "kubelet_volume_stats_used_bytes", namespace=usage.namespace,
                   persistentvolumeclaim=usage.claim)
        capacity = one(kubelet, "kubelet_volume_stats_capacity_bytes", persistentvolumeclaim=usage.claim)
        assert used == to_bytes(usage.used) and 0 < capacity - used < capacity * 0.05  # the full disk the app sees
