"""The controller derives what a real cluster shows for each shipped fault, and the known fix heals it.

Generic checks run for every shipped scenario (adding a scenario needs no test code); the SYMPTOMS
table adds the exact Kubernetes wording for the faults it knows.
"""

from __future__ import annotations

from typing import Any

import pytest

from sim.controller import Controller, LogError
from sim.health import failing_requests
from sim.scenario import Scenario, load_scenario, shipped_scenarios
from sim.patching import apply_patch
from sim.store import ObjectStore

SCENARIOS = {p.stem: load_scenario(p) for p in shipped_scenarios()}
FAULTS = sorted(name for name, s in SCENARIOS.items() if not s.expect.healthy)
FIXABLE = sorted(name for name, s in SCENARIOS.items() if s.expect.fix is not None)


def seeded(name: str) -> tuple[ObjectStore, Controller, Scenario]:
    scenario = SCENARIOS[name]
    store = ObjectStore()
    controller = Controller(store, scenario)
    controller.seed()
    return store, controller, scenario


def workload_pods(store: ObjectStore, namespace: str | None, workload: str) -> list[dict[str, Any]]:
    return [p for p in store.list("Pod", namespace) if p["metadata"]["name"].startswith(workload + "-")]


def events_for(store: ObjectStore, name: str) -> list[dict[str, Any]]:
    return [e for e in store.list("Event") if e["involvedObject"]["name"] == name]


def warnings(store: ObjectStore) -> dict[str, int]:
    return {e["metadata"]["name"]: e["count"] for e in store.list("Event") if e["type"] == "Warning"}


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def apply_fix(store: ObjectStore, controller: Controller, scenario: Scenario) -> None:
    """Every fault's known fix (a scenario may hold more than one fault)."""
    for expect in [scenario.expect, *scenario.more_faults]:
        _apply_one_fix(store, controller, expect)


def _apply_one_fix(store: ObjectStore, controller: Controller, expect: Any) -> None:
    fix, resource = expect.fix, expect.resource
    assert fix is not None and resource is not None
    target = fix.target or resource
    if fix.patch is not None:
        obj = store.get(target.kind, target.namespace, target.name)
        assert obj is not None, f"fix target {target} not in the store"
        patched = apply_patch(obj, fix)
        if fix.recreate:
            store.delete(target.kind, target.namespace, target.name)
            keep = ("name", "namespace", "labels", "annotations")
            patched["metadata"] = {k: v for k, v in patched["metadata"].items() if k in keep}
            patched.pop("status", None)
            store.create(patched)
        else:
            store.put(patched)
    for obj in fix.create:
        obj = {**obj, "metadata": {"namespace": target.namespace, **obj["metadata"]}}
        store.create(obj)
    controller.reconcile()


# -- every scenario -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_reconcile_is_idempotent(name: str) -> None:
    store, controller, _ = seeded(name)
    before_version = store.resource_version
    before_events = {e["metadata"]["name"]: e for e in store.list("Event")}
    controller.reconcile()
    controller.reconcile()
    assert store.resource_version == before_version
    assert {e["metadata"]["name"]: e for e in store.list("Event")} == before_events


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_seeding_is_deterministic(name: str) -> None:
    first, _, _ = seeded(name)
    second, _, _ = seeded(name)
    names = lambda s: sorted((p["metadata"]["name"], p["metadata"]["uid"]) for p in s.list("Pod"))
    assert names(first) == names(second)
    assert sorted(e["metadata"]["name"] for e in first.list("Event")) == sorted(
        e["metadata"]["name"] for e in second.list("Event"))


@pytest.mark.parametrize("name", FAULTS)
def test_alert_labels_name_live_objects(name: str) -> None:
    store, _, scenario = seeded(name)
    for alert in scenario.alerts:
        labels = alert.labels
        namespace = labels.get("namespace")
        if "pod" in labels:
            pod = store.get("Pod", namespace, labels["pod"])
            assert pod is not None, f"alert {labels['alertname']} names pod {labels['pod']}, which does not exist"
            if "uid" in labels:
                assert pod["metadata"]["uid"] == labels["uid"]
            if "container" in labels:
                assert labels["container"] in [c["name"] for c in pod["spec"]["containers"]]
            if labels.get("reason"):
                waiting = [cs["state"].get("waiting", {}).get("reason") for cs in pod["status"]["containerStatuses"]]
                # kube_pod_container_status_waiting_reason, or kube_pod_status_reason (Evicted)
                assert labels["reason"] in [*waiting, pod["status"].get("reason")]
        for key, kind in (("deployment", "Deployment"), ("service", "Service"), ("node", "Node")):
            if key in labels and labels.get("job") != "kube-state-metrics" or (key == "deployment" and key in labels):
                assert store.get(kind, None if kind == "Node" else namespace, labels[key]) is not None


@pytest.mark.parametrize("name", FAULTS)
def test_fault_shows_a_warning_or_a_broken_service(name: str) -> None:
    store, controller, scenario = seeded(name)
    resource = scenario.expect.resource
    assert resource is not None
    if store.get(resource.kind, resource.namespace, resource.name) is None:
        # The fault is the object's absence (a Service pruned from the kustomization): its callers fail.
        fix = scenario.expect.fix
        assert fix is None or any((o["kind"], o["metadata"]["name"]) == (resource.kind, resource.name)
                                  for o in fix.create), f"{resource} is neither in the cluster nor created by the fix"
        assert failing_requests(store, controller.read_log, resource.namespace), "callers should fail without it"
    elif resource.kind == "Ingress":  # a controller ignores an Ingress of a class it does not serve: no address
        ingress = store.get("Ingress", resource.namespace, resource.name)
        assert not (ingress.get("status") or {}).get("loadBalancer", {}).get("ingress"), "the Ingress is served"
    elif resource.kind == "NetworkPolicy":  # a policy drops traffic silently: callers' requests time out
        assert failing_requests(store, controller.read_log, resource.namespace), "the policy should drop some request"
    elif resource.kind == "Service":
        # No ready endpoint, or ready endpoints on a port their pods do not declare (wrong targetPort).
        endpoints = store.get("Endpoints", resource.namespace, resource.name)
        for subset in (endpoints or {}).get("subsets") or []:
            for address in subset.get("addresses") or []:
                pod = store.get("Pod", resource.namespace, address["targetRef"]["name"])
                declared = {p.get("containerPort") for c in pod["spec"]["containers"] for p in c.get("ports") or []}
                assert not {p["port"] for p in subset["ports"]} & declared, "the Service reaches a serving port"
    elif resource.kind == "Certificate":  # cert-manager reports with conditions and Normal events
        obj = store.get(resource.kind, resource.namespace, resource.name)
        assert {(c["type"], c["status"]) for c in obj["status"]["conditions"]} >= {("Ready", "False")}
    elif resource.kind == "HorizontalPodAutoscaler":  # a pinned HPA says so in a condition, with Normal events
        obj = store.get(resource.kind, resource.namespace, resource.name)
        held = {(c["type"], c["status"]) for c in obj["status"]["conditions"]}
        assert held & {("ScalingLimited", "True"), ("AbleToScale", "False"), ("ScalingActive", "False")}
    else:
        assert warnings(store), "a fault scenario should produce at least one Warning event"


@pytest.mark.parametrize("name", FIXABLE)
def test_known_fix_heals_without_new_warnings(name: str) -> None:
    store, controller, scenario = seeded(name)
    before = warnings(store)
    apply_fix(store, controller, scenario)
    resource = scenario.expect.resource
    assert resource is not None
    namespace = resource.namespace
    live = [p for p in store.list("Pod", namespace) if p["status"].get("phase") != "Succeeded"]
    assert live, "the fixed namespace should run pods"
    assert all(ready(p) for p in live), [(p["metadata"]["name"], p["status"]) for p in live if not ready(p)]
    for dep in store.list("Deployment", namespace):
        status = dep["status"]
        want = dep["spec"].get("replicas", 1)
        assert status.get("readyReplicas") == status.get("updatedReplicas") == status.get("replicas") == want
        conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
        assert conditions["Available"] == ("True", "MinimumReplicasAvailable")
        assert conditions["Progressing"] == ("True", "NewReplicaSetAvailable")
    for svc in store.list("Service", namespace):
        if svc["spec"].get("selector"):
            subsets = store.get("Endpoints", namespace, svc["metadata"]["name"]).get("subsets") or []
            assert subsets and all(s.get("addresses") and not s.get("notReadyAddresses") for s in subsets)
    after = warnings(store)
    new = {k: v for k, v in after.items() if before.get(k) != v}
    assert not new, f"new or repeated Warning events after the fix: {new}"
    version = store.resource_version
    controller.reconcile()
    assert store.resource_version == version


def test_healthy_baseline_has_no_warnings_and_everything_ready() -> None:
    store, _, _ = seeded("healthy_baseline")
    assert warnings(store) == {}
    pods = store.list("Pod")
    assert len(pods) >= 8
    for pod in pods:
        assert pod["status"]["phase"] in ("Running", "Succeeded")
        if pod["status"]["phase"] == "Running":
            assert ready(pod)
    for dep in store.list("Deployment"):
        assert dep["status"]["availableReplicas"] == dep["spec"]["replicas"]
    assert store.get("PersistentVolumeClaim", "shop", "data-redis-0")["status"]["phase"] == "Bound"
    job = store.get("Job", "shop", "nightly-report")
    assert job["status"]["succeeded"] == 1
    assert [c["type"] for c in job["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    ds = store.get("DaemonSet", "kube-system", "log-shipper")
    assert ds["status"]["desiredNumberScheduled"] == ds["status"]["numberReady"] == 3
    assert len(store.list("NodeMetrics")) == 3
    assert {m["metadata"]["name"] for m in store.list("PodMetrics", "shop")} >= {"redis-0"}


# -- exact symptoms per fault -------------------------------------------------------------------


def test_oom_memory_hog_symptoms() -> None:
    store, controller, _ = seeded("oom_memory_hog")
    (pod,) = workload_pods(store, "default", "memory-hog")
    name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
    (cs,) = pod["status"]["containerStatuses"]
    assert pod["status"]["phase"] == "Running"
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["state"]["waiting"]["message"] == (
        f"back-off 5m0s restarting failed container=memory-hog pod={name}_default({uid})")
    assert cs["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert cs["lastState"]["terminated"]["exitCode"] == 137
    assert cs["restartCount"] >= 5
    backoff = [e for e in events_for(store, name) if e["reason"] == "BackOff"]
    assert backoff and backoff[0]["type"] == "Warning"
    assert backoff[0]["message"] == f"Back-off restarting failed container memory-hog in pod {name}_default({uid})"
    assert backoff[0]["count"] > 1 and backoff[0]["involvedObject"]["fieldPath"] == "spec.containers{memory-hog}"
    assert backoff[0]["source"] == {"component": "kubelet", "host": pod["spec"]["nodeName"]}
    dep = store.get("Deployment", "default", "memory-hog")
    progressing = next(c for c in dep["status"]["conditions"] if c["type"] == "Progressing")
    assert progressing["status"] == "False" and progressing["reason"] == "ProgressDeadlineExceeded"
    assert controller.read_log("default", name, None, False) == (
        "stress: info: [1] dispatching hogs: 0 cpu, 0 io, 1 vm, 0 hdd\n")
    assert "dispatching hogs" in controller.read_log("default", name, "memory-hog", True)
    rs = store.get("ReplicaSet", "default", name.rsplit("-", 1)[0])
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert rs["metadata"]["labels"]["pod-template-hash"] == name.split("-")[-2]
    assert pod["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]


def test_oom_fix_that_is_too_small_still_crashes() -> None:
    store, controller, _ = seeded("oom_memory_hog")
    dep = store.get("Deployment", "default", "memory-hog")
    dep["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "150Mi"
    store.put(dep)
    controller.reconcile()
    pods = workload_pods(store, "default", "memory-hog")
    assert len(pods) == 2  # the old pod stays: maxUnavailable 0 of 1 replica
    new = max(pods, key=lambda p: p["metadata"]["creationTimestamp"] + p["metadata"]["name"]
              if p["metadata"]["labels"]["pod-template-hash"] != "5cdd5d989" else "")
    cs = new["status"]["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    rss = sorted(store.list("ReplicaSet", "default"), key=lambda r: r["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
    assert [r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for r in rss] == ["1", "2"]


def test_oom_fix_replaces_the_pod() -> None:
    store, controller, scenario = seeded("oom_memory_hog")
    (old,) = workload_pods(store, "default", "memory-hog")
    apply_fix(store, controller, scenario)
    (new,) = workload_pods(store, "default", "memory-hog")
    assert new["metadata"]["name"] != old["metadata"]["name"]
    assert new["status"]["containerStatuses"][0]["restartCount"] == 0
    assert store.get("ReplicaSet", "default", old["metadata"]["name"].rsplit("-", 1)[0])["spec"]["replicas"] == 0
    metrics = store.get("PodMetrics", "default", new["metadata"]["name"])
    assert metrics["containers"][0]["usage"]["memory"] == f"{(200 + 1) * 1024}Ki"
    with pytest.raises(LogError) as caught:
        controller.read_log("default", old["metadata"]["name"], None, False)
    assert (caught.value.code, caught.value.message) == (404, f'pods "{old["metadata"]["name"]}" not found')


def test_crashloop_missing_env_symptoms() -> None:
    store, controller, _ = seeded("crashloop_missing_env")
    # The rollout before the refactor still runs its pod (the new one never becomes Ready); this is the new one.
    old, new = sorted(workload_pods(store, "payments", "payment-processing-worker"),
                      key=lambda p: "DEPLOY_ENV" in str(p["spec"]["containers"][0].get("env")))[::-1]
    assert old["status"]["containerStatuses"][0]["ready"] is True
    pod = new
    cs = pod["status"]["containerStatuses"][0]
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    name = pod["metadata"]["name"]
    log = controller.read_log("payments", name, "payment-processing-container", True)
    assert "Environment variable DEPLOY_ENV is undefined" in log
    reasons = {e["reason"] for e in events_for(store, name) if e["type"] == "Warning"}
    assert reasons == {"BackOff"}


def test_image_pull_bad_tag_symptoms() -> None:
    store, controller, _ = seeded("image_pull_bad_tag")
    (pod,) = workload_pods(store, "web", "web")
    name = pod["metadata"]["name"]
    cs = pod["status"]["containerStatuses"][0]
    assert pod["status"]["phase"] == "Pending"
    assert cs["state"]["waiting"] == {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nginx:invalid-tag"'}
    messages = {(e["reason"], e["message"]) for e in events_for(store, name)}
    pull_failed = ('Failed to pull image "nginx:invalid-tag": rpc error: code = NotFound desc = failed to pull and '
                   'unpack image "docker.io/library/nginx:invalid-tag": failed to resolve reference '
                   '"docker.io/library/nginx:invalid-tag": docker.io/library/nginx:invalid-tag: not found')
    assert ("Failed", pull_failed) in messages
    assert ("Failed", "Error: ErrImagePull") in messages
    assert ("Failed", "Error: ImagePullBackOff") in messages
    assert ("BackOff", 'Back-off pulling image "nginx:invalid-tag"') in messages
    with pytest.raises(LogError) as caught:
        controller.read_log("web", name, "nginx", False)
    assert caught.value.code == 400
    assert caught.value.message == f'container "nginx" in pod "{name}" is waiting to start: trying and failing to pull image'
    with pytest.raises(LogError, match='previous terminated container "nginx" in pod'):
        controller.read_log("web", name, "nginx", True)


def test_pending_insufficient_memory_symptoms() -> None:
    store, _, _ = seeded("pending_insufficient_memory")
    pods = workload_pods(store, "analytics", "analytics-engine")
    assert len(pods) == 2
    message = ("0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: "
               "3 No preemption victims found for incoming pod.")
    for pod in pods:
        assert pod["status"]["phase"] == "Pending" and "nodeName" not in pod["spec"]
        assert pod["status"]["conditions"] == [{"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                                                "lastTransitionTime": pod["metadata"]["creationTimestamp"],
                                                "reason": "Unschedulable", "message": message}]
        (event,) = events_for(store, pod["metadata"]["name"])
        assert (event["reason"], event["type"], event["message"]) == ("FailedScheduling", "Warning", message)
        assert event["source"] == {"component": "default-scheduler"}
    dep = store.get("Deployment", "analytics", "analytics-engine")
    assert dep["status"].get("availableReplicas", 0) == 0 and dep["status"]["unavailableReplicas"] == 2


def test_service_selector_mismatch_symptoms() -> None:
    store, controller, _ = seeded("service_selector_mismatch")
    pods = workload_pods(store, "frontend", "nginx")
    assert len(pods) == 2 and all(ready(p) for p in pods)
    endpoints = store.get("Endpoints", "frontend", "nginx")
    assert "subsets" not in endpoints
    assert warnings(store) == {}
    log = controller.read_log("frontend", pods[0]["metadata"]["name"], None, False)
    assert log.endswith('"GET / HTTP/1.1" 200 615 "-" "kube-probe/1.31"\n')
    svc = store.get("Service", "frontend", "nginx")
    assert svc["spec"]["clusterIP"].startswith("10.96.")


def test_read_log_needs_a_container_name_for_multi_container_pods() -> None:
    scenario = SCENARIOS["healthy_baseline"].model_copy(deep=True)
    dep = next(o for o in scenario.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "web")
    dep["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1.36"})
    store = ObjectStore()
    controller = Controller(store, scenario)
    controller.seed()
    pod = workload_pods(store, "shop", "web")[0]["metadata"]["name"]
    with pytest.raises(LogError) as caught:
        controller.read_log("shop", pod, None, False)
    assert caught.value.message == f"a container name must be specified for pod {pod}, choose one of: [nginx sidecar]"
    with pytest.raises(LogError, match=f"container nope is not valid for pod {pod}"):
        controller.read_log("shop", pod, "nope", False)


def _batch_pod(restart_policy: str, init_fails: bool) -> dict[str, Any]:
    from sim.scenario import parse_scenario

    command = ["sh", "-c", "exit 3"] if init_fails else ["missing-binary"]
    template: dict[str, Any] = {"restartPolicy": restart_policy, "containers": [
        {"name": "work", "image": "busybox:1.36", "command": ["sh", "-c", "true"] if init_fails else command}]}
    if init_fails:
        template["initContainers"] = [{"name": "prepare", "image": "busybox:1.36", "command": command}]
    scenario = parse_scenario({
        "name": "batch", "description": "a run-to-completion pod",
        "objects": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "batch", "namespace": "default"},
                     "spec": template}],
        "world": {"images": {"busybox": {"binaries": ["sh"], "exit": {"code": 3, "after": "1s"}}}},
        "expect": {"category": "healthy", "healthy": True}})
    store = ObjectStore()
    Controller(store, scenario).seed()
    pod = store.get("Pod", "default", "batch")
    assert pod is not None
    return pod


def test_restart_policy_never_leaves_a_failed_container_terminated_and_the_pod_failed() -> None:
    # kubelet: with restartPolicy Never a container that fails is not restarted (no CrashLoopBackOff, restartCount
    # 0) and the pod phase becomes Failed (pkg/kubelet/kubelet_pods.go getPhase); a container whose binary is
    # missing ends terminated with reason StartError, exit code 128.
    pod = _batch_pod("Never", init_fails=False)
    [status] = pod["status"]["containerStatuses"]
    assert pod["status"]["phase"] == "Failed" and status["restartCount"] == 0
    assert status["state"]["terminated"]["reason"] == "StartError"
    assert status["state"]["terminated"]["exitCode"] == 128
    always = _batch_pod("Always", init_fails=False)
    assert always["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"


def test_a_failed_init_container_fails_the_pod_under_restart_policy_never() -> None:
    # "If a Pod's init container fails, the kubelet repeatedly restarts that init container until it succeeds.
    # However, if the Pod has a restartPolicy of Never ... Kubernetes treats the overall Pod as failed."
    # (kubernetes.io/docs/concepts/workloads/pods/init-containers/)
    pod = _batch_pod("Never", init_fails=True)
    assert pod["status"]["phase"] == "Failed"
    [init] = pod["status"]["initContainerStatuses"]
    assert init["state"]["terminated"]["exitCode"] == 3 and init["restartCount"] == 0
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"
