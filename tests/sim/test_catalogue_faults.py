"""The catalogue's exact Kubernetes wording for the faults added after the first twelve scenarios.

Each test seeds one shipped scenario and checks the messages a real cluster shows for that fault
(fault-catalogue §2), plus what the fix changes where the generic fix test cannot see it.
"""

from __future__ import annotations

from typing import Any

from sim.tables import pod_status
from tests.sim.test_controller_faults import apply_fix, events_for, ready, seeded, workload_pods


def _messages(store: Any, name: str) -> set[tuple[str, str]]:
    return {(e["reason"], e["message"]) for e in events_for(store, name)}


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)


def test_oomkilled_limit_too_low_symptoms() -> None:
    store, _, _ = seeded("oomkilled_limit_too_low")
    pods = workload_pods(store, "webapp-backend", "backend-api")
    assert len(pods) == 2
    for pod in pods:
        cs = pod["status"]["containerStatuses"][0]
        assert cs["lastState"]["terminated"]["reason"] == "OOMKilled" and cs["lastState"]["terminated"]["exitCode"] == 137
        name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
        assert ("BackOff", f"Back-off restarting failed container api-server in pod {name}_webapp-backend({uid})") in \
            _messages(store, name)


def test_nodeselector_no_matching_node_symptoms() -> None:
    store, _, _ = seeded("nodeselector_no_matching_node")
    message = ("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: "
               "0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    for pod in workload_pods(store, "search-prod", "catalog-search"):
        assert _condition(pod, "PodScheduled")["message"] == message
        assert ("FailedScheduling", message) in _messages(store, pod["metadata"]["name"])
    assert "subsets" not in store.get("Endpoints", "search-prod", "catalog-search")


def test_pvc_storageclass_not_found_symptoms_and_fix() -> None:
    store, controller, scenario = seeded("pvc_storageclass_not_found")
    pvc = store.get("PersistentVolumeClaim", "cms", "homepage-pvc")
    assert pvc["status"]["phase"] == "Pending"
    assert ("ProvisioningFailed", 'storageclass.storage.k8s.io "fast-ssd" not found') in _messages(store, "homepage-pvc")
    (pod,) = workload_pods(store, "cms", "homepage")
    assert _condition(pod, "PodScheduled")["message"] == (
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are "
        "available: 3 Preemption is not helpful for scheduling.")
    apply_fix(store, controller, scenario)
    assert store.get("PersistentVolumeClaim", "cms", "homepage-pvc")["status"]["phase"] == "Bound"


def test_liveness_probe_wrong_port_symptoms() -> None:
    store, _, _ = seeded("liveness_probe_wrong_port")
    pod = workload_pods(store, "storefront", "web-app")[0]
    name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
    messages = _messages(store, name)
    assert ("Unhealthy", f'Liveness probe failed: Get "http://{ip}:8080/healthz": dial tcp {ip}:8080: connect: '
                         "connection refused") in messages
    assert ("Killing", "Container web-app failed liveness probe, will be restarted") in messages
    assert pod["status"]["containerStatuses"][0]["restartCount"] >= 3


def test_node_not_ready_symptoms() -> None:
    store, _, scenario = seeded("node_not_ready")
    assert scenario.expect.escalate and scenario.expect.fix is None
    lost = "aks-nodepool1-31718369-vmss000001"
    node = store.get("Node", None, lost)
    ready_cond = _condition(node, "Ready")
    assert (ready_cond["status"], ready_cond["reason"], ready_cond["message"]) == (
        "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    assert {(t["key"], t["effect"]) for t in node["spec"]["taints"]} == {
        ("node.kubernetes.io/unreachable", "NoSchedule"), ("node.kubernetes.io/unreachable", "NoExecute")}
    assert ("NodeNotReady", f"Node {lost} status is now: NodeNotReady") in _messages(store, lost)
    on_lost = [p for p in store.list("Pod") if p["spec"].get("nodeName") == lost]
    evicted = [p for p in on_lost if p["metadata"].get("deletionTimestamp")]
    daemons = [p for p in on_lost if p["metadata"]["namespace"] == "monitoring"]
    assert evicted and daemons and not any(p["metadata"].get("deletionTimestamp") for p in daemons)
    for pod in on_lost:
        name = pod["metadata"]["name"]
        assert ("NodeNotReady", "Node is not ready") in _messages(store, name)
        assert _condition(pod, "Ready")["status"] == "False"
    for pod in evicted:
        assert pod_status(pod)[0] == "Terminating"
        assert _condition(pod, "DisruptionTarget")["reason"] == "DeletionByTaintManager"
    for dep in ("orders-api", "orders-worker"):  # replacements run on the healthy nodes
        live = [p for p in workload_pods(store, "orders", dep) if not p["metadata"].get("deletionTimestamp")]
        assert live and all(ready(p) and p["spec"]["nodeName"] != lost for p in live)


def test_init_container_crashloop_symptoms() -> None:
    store, controller, _ = seeded("init_container_crashloop")
    pod = workload_pods(store, "personalization", "recommender")[0]
    assert pod_status(pod)[0] == "Init:CrashLoopBackOff"
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"
    log = controller.read_log("personalization", pod["metadata"]["name"], "render-config", True)
    assert "json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes" in log


def test_private_registry_pull_secret_missing_symptoms() -> None:
    store, _, _ = seeded("private_registry_pull_secret_missing")
    pod = workload_pods(store, "team-b", "ledger-api")[0]
    image = "registry.example.com/team-b/ledger-api:2.3.1"
    messages = _messages(store, pod["metadata"]["name"])
    assert ("FailedToRetrieveImagePullSecret", "Unable to retrieve some image pull secrets (regcred); attempting "
            "to pull the image may not succeed.") in messages
    assert any(r == "Failed" and m.startswith(f'Failed to pull image "{image}"') and m.endswith(
        "pull access denied, repository does not exist or may require authorization: server message: "
        "insufficient_scope: authorization failed") for r, m in messages)
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff"


def test_service_targetport_mismatch_symptoms_and_fix() -> None:
    store, controller, scenario = seeded("service_targetport_mismatch")
    (subset,) = store.get("Endpoints", "accounts", "user-service")["subsets"]
    assert subset["ports"][0]["port"] == 9999 and len(subset["addresses"]) == 2
    (web,) = workload_pods(store, "accounts", "profile-web")
    ip = store.get("Service", "accounts", "user-service")["spec"]["clusterIP"]
    log = controller.read_log("accounts", web["metadata"]["name"], None, False)
    assert f"dial tcp {ip}:9090: connect: connection refused" in log
    apply_fix(store, controller, scenario)
    assert "connection refused" not in controller.read_log("accounts", web["metadata"]["name"], None, False)


def test_rollout_stuck_bad_release_symptoms() -> None:
    store, controller, _ = seeded("rollout_stuck_bad_release")
    dep = store.get("Deployment", "commerce", "checkout")
    new_rs = next(r for r in store.list("ReplicaSet", "commerce")
                  if r["spec"]["template"]["spec"]["containers"][0]["image"].endswith("v1.8.0"))
    progressing = _condition(dep, "Progressing")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "False", "ProgressDeadlineExceeded", f'ReplicaSet "{new_rs["metadata"]["name"]}" has timed out progressing.')
    assert dep["status"]["readyReplicas"] == 3 and dep["status"]["updatedReplicas"] == 1
    (crashing,) = [p for p in workload_pods(store, "commerce", "checkout") if not ready(p)]
    assert crashing["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 2
    log = controller.read_log("commerce", crashing["metadata"]["name"], None, True)
    assert "panic: runtime error: invalid memory address or nil pointer dereference" in log


def test_job_backoff_limit_exceeded_symptoms() -> None:
    store, controller, _ = seeded("job_backoff_limit_exceeded")
    job = store.get("Job", "reporting", "get-data")
    failed = _condition(job, "Failed")
    assert (failed["reason"], failed["message"]) == ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    pods = workload_pods(store, "reporting", "get-data")
    assert len(pods) == 5 and all(pod_status(p)[0] == "Error" for p in pods)
    log = controller.read_log("reporting", pods[0]["metadata"]["name"], None, False)
    assert log == "curl: (6) Could not resolve host: data-service.reporting.svc.cluster.local\n"


def test_hpa_missing_cpu_requests_symptoms() -> None:
    store, _, _ = seeded("hpa_missing_cpu_requests")
    hpa = store.get("HorizontalPodAutoscaler", "risk", "fraud-scorer")
    active = _condition(hpa, "ScalingActive")
    pod = workload_pods(store, "risk", "fraud-scorer")[0]["metadata"]["name"]
    error = f"failed to get cpu utilization: missing request for cpu in container scorer of Pod {pod}"
    assert (active["status"], active["reason"]) == ("False", "FailedGetResourceMetric")
    assert active["message"] == f"the HPA was unable to compute the replica count: {error}"
    messages = _messages(store, "fraud-scorer")
    assert ("FailedGetResourceMetric", error) in messages
    assert ("FailedComputeMetricsReplicas", "invalid metrics (1 invalid out of 1), first error is: failed to get "
            f"cpu resource metric value: {error}") in messages


def test_run_as_nonroot_image_root_symptoms() -> None:
    store, _, _ = seeded("run_as_nonroot_image_root")
    (pod,) = [p for p in workload_pods(store, "billing", "invoice-renderer") if not ready(p)]
    name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
    message = f'container has runAsNonRoot and image will run as root (pod: "{name}_billing({uid})", container: renderer)'
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"] == {
        "reason": "CreateContainerConfigError", "message": message}
    assert ("Failed", f"Error: {message}") in _messages(store, name)


def test_ingress_tls_secret_missing_symptoms_and_fix() -> None:
    store, controller, scenario = seeded("ingress_tls_secret_missing")
    cert = store.get("Certificate", "retail", "storefront-tls")
    assert (_condition(cert, "Ready")["status"], _condition(cert, "Ready")["message"]) == (
        "False", "Issuing certificate as Secret does not exist")
    request = store.get("CertificateRequest", "retail", "storefront-tls-1")
    not_found = 'Referenced "ClusterIssuer" not found: clusterissuer.cert-manager.io "letsencrypt-prod" not found'
    assert (_condition(request, "Ready")["reason"], _condition(request, "Ready")["message"]) == ("Pending", not_found)
    assert ("IssuerNotFound", not_found) in _messages(store, "storefront-tls-1")
    assert store.get("Secret", "retail", "storefront-tls") is None
    assert _condition(store.get("ClusterIssuer", None, "letsencrypt-production"), "Ready")["status"] == "True"
    apply_fix(store, controller, scenario)
    cert = store.get("Certificate", "retail", "storefront-tls")
    assert _condition(cert, "Ready")["reason"] == "Ready" and cert["status"]["revision"] == 1
    secret = store.get("Secret", "retail", "storefront-tls")
    assert secret["type"] == "kubernetes.io/tls" and set(secret["data"]) >= {"tls.crt", "tls.key"}
    assert ("CertificateIssued", "Certificate fetched from issuer successfully") in _messages(store, "storefront-tls-1")
