"""Scheduling as kube-scheduler does it: pod anti-affinity, topology spread, extended resources, node
pressure taints. Each test reads the outcome with the real kubectl and the kubernetes client, compares
the wording with the scheduler's own strings, and applies a fix through the API to see it change.

Upstream wording (kubernetes/kubernetes, pkg/scheduler/framework/plugins/...):
- interpodaffinity/filtering.go: ErrReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules"
- podtopologyspread/filtering.go: ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
- nodeunschedulable: ErrReasonUnschedulable = "node(s) were unschedulable"
- noderesources/fit.go: fmt.Sprintf("Insufficient %v", resource)
- tainttoleration: "node(s) had untolerated taint {%s: %s}"
- defaultpreemption: "Preemption is not helpful for scheduling" / "No preemption victims found for incoming pod"
- pkg/kubelet/nodestatus/setters.go: DiskPressure True, reason KubeletHasDiskPressure, "kubelet has disk pressure"
"""

from __future__ import annotations

from pathlib import Path

from kubernetes import client as k8s

from tests.sim.sim_cases import condition, deployment, ready, served

ZONES = [{"name": f"node-{z}", "labels": {"topology.kubernetes.io/zone": f"zone-{z}"}} for z in "abc"]
CACHE_ANTI_AFFINITY = {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "kubernetes.io/hostname"}]}}}


def test_required_anti_affinity_leaves_the_extra_replica_pending_until_scaled_down(tmp_path: Path) -> None:
    objects = [deployment("cache", "shop", replicas=4, pod=CACHE_ANTI_AFFINITY)]
    with served(tmp_path, nodes=ZONES, objects=objects) as case:
        pods = case.pods("shop", "cache")
        placed = sorted(p["spec"].get("nodeName") or "" for p in pods)
        assert placed == ["", "node-a", "node-b", "node-c"]  # one per node, the fourth nowhere
        (pending,) = [p for p in pods if not p["spec"].get("nodeName")]
        name = pending["metadata"]["name"]
        message = ("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes "
                   "are available: 3 No preemption victims found for incoming pod.")
        described = case.kubectl("describe", "pod", "-n", "shop", name)
        assert "FailedScheduling" in described and " ".join(message.split()) in " ".join(described.split())
        read = k8s.CoreV1Api(case.client()).read_namespaced_pod(name, "shop")
        scheduled = next(c for c in read.status.conditions if c.type == "PodScheduled")
        assert (scheduled.status, scheduled.reason, scheduled.message) == ("False", "Unschedulable", message)
        case.kubectl("scale", "deployment", "cache", "-n", "shop", "--replicas=3")
        pods = case.pods("shop", "cache")
        assert len(pods) == 3 and all(ready(p) for p in pods)
        assert "Pending" not in case.kubectl("get", "pods", "-n", "shop")


def test_preferred_anti_affinity_spreads_but_still_places_every_replica(tmp_path: Path) -> None:
    term = {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}
    pod = {"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": term}]}}}
    with served(tmp_path, nodes=ZONES, objects=[deployment("web", "shop", replicas=4, pod=pod)]) as case:
        nodes = [p["spec"]["nodeName"] for p in case.pods("shop", "web")]
        assert len(nodes) == 4 and set(nodes) == {"node-a", "node-b", "node-c"}
        assert all(ready(p) for p in case.pods("shop", "web"))


def test_topology_spread_do_not_schedule_counts_a_cordoned_zone_until_it_is_uncordoned(tmp_path: Path) -> None:
    nodes = [*ZONES[:2], {**ZONES[2], "unschedulable": True}]
    spread = {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                             "whenUnsatisfiable": "DoNotSchedule",
                                             "labelSelector": {"matchLabels": {"app": "api"}}}]}
    with served(tmp_path, nodes=nodes, objects=[deployment("api", "shop", replicas=3, pod=spread)]) as case:
        pods = case.pods("shop", "api")
        assert sorted(p["spec"].get("nodeName") or "" for p in pods) == ["", "node-a", "node-b"]
        (pending,) = [p for p in pods if not p["spec"].get("nodeName")]
        message = ("0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match pod topology spread "
                   "constraints. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
                   "2 No preemption victims found for incoming pod.")
        assert condition(pending, "PodScheduled")["message"] == message
        events = case.kubectl_json("get", "events", "-n", "shop", "--field-selector",
                                   f"involvedObject.name={pending['metadata']['name']}")
        assert ("FailedScheduling", message) in {(e["reason"], e["message"]) for e in events["items"]}
        case.kubectl("uncordon", "node-c")
        pods = case.pods("shop", "api")
        assert sorted(p["spec"]["nodeName"] for p in pods) == ["node-a", "node-b", "node-c"]
        assert all(ready(p) for p in pods)


def test_extended_resource_requests_fit_only_a_node_that_offers_them(tmp_path: Path) -> None:
    nodes = [{"name": "cpu-1"}, {"name": "cpu-2"},
             {"name": "gpu-1", "allocatable": {"nvidia.com/gpu": 1}, "labels": {"accelerator": "nvidia-l4"}}]
    trainer = deployment("trainer", "ml", image="pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime",
                         container={"command": ["python", "-c", "import time; time.sleep(1e9)"],
                                    "resources": {"limits": {"nvidia.com/gpu": 2}}})
    with served(tmp_path, nodes=nodes, objects=[trainer]) as case:
        assert "nvidia.com/gpu:" in case.kubectl("describe", "node", "gpu-1")
        (pod,) = case.pods("ml", "trainer")
        message = ("0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: "
                   "3 No preemption victims found for incoming pod.")
        assert condition(pod, "PodScheduled")["message"] == message
        assert "Pending" in case.kubectl("get", "pods", "-n", "ml")
        case.kubectl("patch", "deployment", "trainer", "-n", "ml", "--type", "json", "-p",
                     '[{"op": "replace", "path": "/spec/template/spec/containers/0/resources/limits/nvidia.com~1gpu",'
                     ' "value": "1"}]')
        running = [p for p in case.pods("ml", "trainer") if ready(p)]
        assert [p["spec"]["nodeName"] for p in running] == ["gpu-1"]


def test_disk_pressure_sets_the_condition_and_taint_and_keeps_new_pods_off(tmp_path: Path) -> None:
    nodes = [{"name": "node-full", "disk_used": "95Gi"}]
    with served(tmp_path, nodes=nodes, objects=[deployment("web", "shop")]) as case:
        node = case.kubectl_json("get", "node", "node-full")
        pressure = condition(node, "DiskPressure")
        assert (pressure["status"], pressure["reason"], pressure["message"]) == (
            "True", "KubeletHasDiskPressure", "kubelet has disk pressure")
        assert {"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"} in [
            {k: t[k] for k in ("key", "effect")} for t in node["spec"]["taints"]]
        assert "node.kubernetes.io/disk-pressure:NoSchedule" in case.kubectl("describe", "node", "node-full")
        (pod,) = case.pods("shop", "web")
        assert condition(pod, "PodScheduled")["message"] == (
            "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }. "
            "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")


def test_required_pod_affinity_waits_for_the_pods_it_must_join(tmp_path: Path) -> None:
    near_cache = {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "topology.kubernetes.io/zone"}]}}}
    with served(tmp_path, nodes=ZONES, objects=[deployment("api", "shop", pod=near_cache)]) as case:
        (pod,) = case.pods("shop", "api")
        assert condition(pod, "PodScheduled")["message"] == (
            "0/3 nodes are available: 3 node(s) didn't match pod affinity rules. preemption: 0/3 nodes are "
            "available: 3 Preemption is not helpful for scheduling.")
        cache = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cache-0", "namespace": "shop",
                                                               "labels": {"app": "cache"}},
                 "spec": {"nodeName": "node-b", "containers": [{"name": "cache", "image": "redis:7.4"}]}}
        k8s.CoreV1Api(case.client()).create_namespaced_pod("shop", cache)
        (pod,) = case.pods("shop", "api")
        assert pod["spec"]["nodeName"] == "node-b" and ready(pod)


def test_pressure_conditions_taint_the_node_for_the_scheduler_but_not_for_daemons(tmp_path: Path) -> None:
    nodes = [{"name": "node-a", "memory_used": "7.95Gi"},
             {"name": "node-b", "conditions": [{"type": "PIDPressure", "status": "True",
                                                "reason": "KubeletHasInsufficientPID",
                                                "message": "kubelet has insufficient PID available"}]}]
    agent = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "kube-system"},
             "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {
                 "metadata": {"labels": {"app": "agent"}},
                 "spec": {"containers": [{"name": "agent", "image": "fluent/fluent-bit:3.1"}]}}}}
    with served(tmp_path, nodes=nodes, objects=[deployment("web", "shop"), agent]) as case:
        memory = condition(case.kubectl_json("get", "node", "node-a"), "MemoryPressure")
        assert (memory["status"], memory["reason"], memory["message"]) == (
            "True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available")
        described = case.kubectl("describe", "node", "node-b")
        assert "node.kubernetes.io/pid-pressure:NoSchedule" in described
        (pod,) = case.pods("shop", "web")
        assert condition(pod, "PodScheduled")["message"] == (
            "0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/memory-pressure: }, "
            "1 node(s) had untolerated taint {node.kubernetes.io/pid-pressure: }. preemption: 0/2 nodes are "
            "available: 2 Preemption is not helpful for scheduling.")
        assert sorted(p["spec"]["nodeName"] for p in case.pods("kube-system", "agent")) == ["node-a", "node-b"]


def test_preferred_node_affinity_and_schedule_anyway_spread_steer_without_blocking(tmp_path: Path) -> None:
    nodes = [{"name": "spot-1", "labels": {"pool": "spot", "topology.kubernetes.io/zone": "zone-a"}},
             {"name": "ondemand-1", "labels": {"pool": "ondemand", "topology.kubernetes.io/zone": "zone-b"}}]
    # A resident pod makes spot-1 the least requested node: without the preferences everything would go there.
    resident = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "resident", "namespace": "shop"},
                "spec": {"nodeName": "ondemand-1", "containers": [
                    {"name": "db", "image": "postgres:16", "resources": {"requests": {"cpu": "2"}}}]}}
    prefer_ondemand = {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 80, "preference": {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["ondemand"]}]}}]}}}
    spread = {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                             "whenUnsatisfiable": "ScheduleAnyway",
                                             "labelSelector": {"matchLabels": {"app": "api"}}}]}
    objects = [resident, deployment("batch", "shop", replicas=2, pod=prefer_ondemand),
               deployment("api", "shop", replicas=4, pod=spread), deployment("plain", "shop", replicas=2)]
    with served(tmp_path, nodes=nodes, objects=objects) as case:
        assert [p["spec"]["nodeName"] for p in case.pods("shop", "plain")] == ["spot-1", "spot-1"]
        assert [p["spec"]["nodeName"] for p in case.pods("shop", "batch")] == ["ondemand-1", "ondemand-1"]
        api_nodes = sorted(p["spec"]["nodeName"] for p in case.pods("shop", "api"))
        assert api_nodes == ["ondemand-1", "ondemand-1", "spot-1", "spot-1"]
        assert "Pending" not in case.kubectl("get", "pods", "-n", "shop")
