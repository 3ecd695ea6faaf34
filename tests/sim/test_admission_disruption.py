"""Admission webhooks that fail on TLS or missing endpoints, PodDisruptionBudgets, the eviction API and
kubectl drain, driven through kubectl and the kubernetes client.

Wordings quoted from upstream:
- k8s.io/apiserver/pkg/admission/plugin/webhook/errors + the Go TLS stack: `failed calling webhook "x":
  failed to call webhook: Post "https://svc.ns.svc:443/validate?timeout=10s": tls: failed to verify
  certificate: x509: certificate signed by unknown authority`, as an `Internal error occurred: ...` (500);
- pkg/registry/core/pod/storage/eviction.go: 429 `Cannot evict pod as it would violate the pod's disruption
  budget.` with cause DisruptionBudget `The disruption budget x needs 2 healthy pods and has 2 currently`;
- staging/src/k8s.io/kubectl/pkg/drain/drain.go: `error when evicting pods/"x" -n "ns" (will retry after 5s):
  Cannot evict pod as it would violate the pod's disruption budget.`
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.sim.scenario_support import client, deployment, kubectl, pods_of, running, service

CA_A = "-----BEGIN CERTIFICATE-----\nQ0EtQQ==\n-----END CERTIFICATE-----\n"
CA_B = "-----BEGIN CERTIFICATE-----\nQ0EtQg==\n-----END CERTIFICATE-----\n"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _webhook_objects(ca_bundle: str, failure_policy: str = "Fail", replicas: int = 1) -> list[dict[str, Any]]:
    backend = deployment("policy-webhook", "policy-system", "registry.local/policy-webhook:1.0", replicas=replicas,
                         ports=[{"containerPort": 8443, "name": "https"}],
                         volumeMounts=[{"name": "tls", "mountPath": "/tls", "readOnly": True}])
    backend["spec"]["template"]["spec"]["volumes"] = [{"name": "tls", "secret": {"secretName": "policy-webhook-tls"}}]
    return [
        backend,
        service("policy-webhook", "policy-system", {"app": "policy-webhook"}, 443, "https"),
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
         "metadata": {"name": "policy-webhook-tls", "namespace": "policy-system"},
         "data": {"tls.crt": _b64("serving cert"), "tls.key": _b64("key"), "ca.crt": _b64(CA_A)}},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
         "metadata": {"name": "policy"},
         "webhooks": [{
             "name": "validate.policy.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
             "failurePolicy": failure_policy,
             "clientConfig": {"service": {"name": "policy-webhook", "namespace": "policy-system", "path": "/validate"},
                              "caBundle": _b64(ca_bundle)},
             "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                                                         "values": ["policy-system", "kube-system"]}]},
             "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]}]},
        deployment("web", "shop", "nginx:1.27", replicas=2),
    ]


TLS_ERROR = ('Internal error occurred: failed calling webhook "validate.policy.example.com": failed to call webhook: '
             'Post "https://policy-webhook.policy-system.svc:443/validate?timeout=10s": tls: failed to verify '
             "certificate: x509: certificate signed by unknown authority")
BARE_POD = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "shop"},
                       "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}})


def _failed_creates(sim: Any) -> list[str]:
    return [e["message"] for e in sim.store.list("Event", "shop") if e["reason"] == "FailedCreate"]


def test_a_ca_bundle_mismatch_fails_pod_creation_with_the_x509_error(tmp_path: Path) -> None:
    with running(tmp_path, "webhook-tls", _webhook_objects(CA_B)) as sim:
        assert pods_of(sim, "shop", "web") == []
        assert f"Error creating: {TLS_ERROR}" in _failed_creates(sim)
        direct = kubectl(sim, "apply", "-f", "-", input_text=BARE_POD)
        assert direct.returncode == 1
        assert direct.stderr.strip() == f'Error from server (InternalError): error when creating "STDIN": {TLS_ERROR}'
        events = kubectl(sim, "get", "events", "-n", "shop", "--field-selector", "reason=FailedCreate").stdout
        assert "x509: certificate signed by unknown authority" in events
        # The fix: the caBundle the serving certificate's CA.
        fixed = kubectl(sim, "patch", "validatingwebhookconfiguration", "policy", "--type=json", "-p",
                        json.dumps([{"op": "replace", "path": "/webhooks/0/clientConfig/caBundle", "value": _b64(CA_A)}]))
        assert fixed.returncode == 0, fixed.stderr
        assert len(pods_of(sim, "shop", "web")) == 2
        assert kubectl(sim, "apply", "-f", "-", input_text=BARE_POD).returncode == 0


def test_a_webhook_without_endpoints_fails_closed_and_ignore_admits(tmp_path: Path) -> None:
    with running(tmp_path, "webhook-down", _webhook_objects(CA_A, replicas=0)) as sim:
        assert pods_of(sim, "shop", "web") == []
        assert _failed_creates(sim)[0].endswith(
            'Post "https://policy-webhook.policy-system.svc:443/validate?timeout=10s": no endpoints available for '
            'service "policy-webhook"')
        kubectl(sim, "scale", "deployment", "policy-webhook", "-n", "policy-system", "--replicas=2")
        assert len(pods_of(sim, "shop", "web")) == 2
    with running(tmp_path, "webhook-ignore", _webhook_objects(CA_B, failure_policy="Ignore", replicas=0)) as sim:
        assert len(pods_of(sim, "shop", "web")) == 2
        assert _failed_creates(sim) == []


def _pdb(min_available: Any = None, max_unavailable: Any = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "web"}}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web-pdb", "namespace": "shop"},
            "spec": spec}


@pytest.mark.parametrize(("budget", "expected"), [
    (_pdb(min_available=3), (3, 3, 3, 0, "False", "InsufficientPods")),
    (_pdb(min_available=2), (3, 3, 2, 1, "True", "SufficientPods")),
    (_pdb(min_available="50%"), (3, 3, 2, 1, "True", "SufficientPods")),
    (_pdb(max_unavailable=1), (3, 3, 2, 1, "True", "SufficientPods")),
    (_pdb(max_unavailable="0%"), (3, 3, 3, 0, "False", "InsufficientPods")),
], ids=["min-3", "min-2", "min-50%", "max-unavailable-1", "max-unavailable-0%"])
def test_the_disruption_controller_derives_the_budget_status(tmp_path: Path, budget: dict[str, Any],
                                                             expected: tuple[Any, ...]) -> None:
    from kubernetes import client as k8s

    with running(tmp_path, "pdb", [deployment("web", "shop", "nginx:1.27", replicas=3), budget]) as sim:
        status = k8s.PolicyV1Api(client(sim)).read_namespaced_pod_disruption_budget("web-pdb", "shop").status
    condition = next(c for c in status.conditions if c.type == "DisruptionAllowed")
    assert (status.expected_pods, status.current_healthy, status.desired_healthy, status.disruptions_allowed,
            condition.status, condition.reason) == expected


def test_the_eviction_api_refuses_what_the_budget_forbids(tmp_path: Path) -> None:
    from kubernetes import client as k8s

    with running(tmp_path, "evict", [deployment("web", "shop", "nginx:1.27", replicas=2), _pdb(min_available=2)]) as sim:
        core = k8s.CoreV1Api(client(sim))
        name = pods_of(sim, "shop", "web")[0]["metadata"]["name"]
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "shop"}}
        with pytest.raises(k8s.ApiException) as refused:
            core.create_namespaced_pod_eviction(name, "shop", eviction)
        assert refused.value.status == 429
        body = json.loads(refused.value.body)
        assert body["reason"] == "TooManyRequests"
        assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
        assert body["details"]["causes"] == [{"reason": "DisruptionBudget",
                                              "message": "The disruption budget web-pdb needs 2 healthy pods and has 2 "
                                                         "currently"}]
        assert sim.store.get("Pod", "shop", name) is not None  # nothing evicted
        with pytest.raises(k8s.ApiException) as missing:
            core.create_namespaced_pod_eviction("nope", "shop", {**eviction, "metadata": {"name": "nope"}})
        assert missing.value.status == 404
        kubectl(sim, "patch", "pdb", "web-pdb", "-n", "shop", "--type=merge", "-p", '{"spec":{"minAvailable":1}}')
        core.create_namespaced_pod_eviction(name, "shop", eviction)
        assert sim.store.get("Pod", "shop", name) is None
        assert len(pods_of(sim, "shop", "web")) == 2  # the ReplicaSet replaced it


def test_kubectl_drain_is_blocked_by_the_budget_until_it_is_relaxed(tmp_path: Path) -> None:
    with running(tmp_path, "drain", [deployment("web", "shop", "nginx:1.27", replicas=2), _pdb(min_available=2)]) as sim:
        pod = pods_of(sim, "shop", "web")[0]
        node, name = pod["spec"]["nodeName"], pod["metadata"]["name"]
        blocked = kubectl(sim, "drain", node, "--timeout=6s")
        assert blocked.returncode == 1
        assert f'error when evicting pods/"{name}" -n "shop" (will retry after 5s): Cannot evict pod as it would ' \
               "violate the pod's disruption budget." in blocked.stderr
        assert "node/" + node + " cordoned" in blocked.stdout
        assert sim.store.get("Node", None, node)["spec"]["unschedulable"] is True
        kubectl(sim, "patch", "pdb", "web-pdb", "-n", "shop", "--type=merge", "-p", '{"spec":{"minAvailable":1}}')
        drained = kubectl(sim, "drain", node, "--timeout=20s")
        assert drained.returncode == 0, drained.stderr
        assert f"pod/{name} evicted" in drained.stdout and f"node/{node} drained" in drained.stdout
        assert all(p["spec"].get("nodeName") != node for p in pods_of(sim, "shop", "web"))
