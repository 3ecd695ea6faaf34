"""Table tests for the checks on scheduling, storage, nodes, Services, admission, certificates and workloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agents.rules.facts import Facts
from agents.rules.registry import checks
from agents.toolsets.gitops import REMOVE
from tests.agents.rules import test_issue14_checks, test_pod_checks
from tests.agents.rules.builders import Case, container, event, facts, log, obj, pod, status
from tests.agents.rules.check_runner import run_case


def unschedulable(message: str, **spec: object) -> Facts:
    condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
    return facts(pod(phase="Pending", conditions=[condition], **spec))


def with_nodes(seen: Facts, *memory: str, cpu: str = "4") -> Facts:
    for i, size in enumerate(memory):
        seen.add("Node", obj("Node", f"worker-{i}", ns=None, status={"allocatable": {"memory": size, "cpu": cpu}}), "c-nodes")
    return seen


NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NGINX_POD = pod("nginx-1", labels={"app": "nginx"}, containers=[container("nginx", ports=[{"containerPort": 80}])],
                statuses=[status("nginx", ready=True)], conditions=[{"type": "Ready", "status": "True"}])
SERVICE = obj("Service", "nginx", spec={"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 80}]})
QUOTA_MSG = ('Error creating: pods "api-7c9-x2x9k" is forbidden: exceeded quota: compute-quota, requested: '
             "requests.cpu=10m, used: requests.cpu=20m, limited: requests.cpu=20m")


def policy_facts(admitted: str = "billing",
                 line: str = 'error="Get \\"http://ledger/x\\": dial tcp 10.96.1.2:80: i/o timeout"') -> Facts:
    """A caller whose requests to ledger time out, and the NetworkPolicy in front of ledger's pods."""
    caller = pod("checkout-6d8f-abcde", labels={"app": "checkout", "pod-template-hash": "6d8f"},
                 owner="ReplicaSet/checkout-6d8f")
    ledger = obj("Service", "ledger", spec={"selector": {"app": "ledger"}, "matchingPodLabels": [{"app": "ledger"}]})
    policy = obj("NetworkPolicy", "ledger-ingress", spec={
        "podSelector": {"matchLabels": {"app": "ledger"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": admitted}}}], "ports": [{"port": 8080}]}]})
    return facts(caller, ledger, policy, logs=[log(line, pod_name="checkout-6d8f-abcde", previous=False)],
                 service="checkout", backend_pod="checkout-6d8f-abcde", upstream_service="ledger",
                 upstream_namespace="shop")


FORBIDDEN_LINE = ('level=fatal msg="list pods failed" error="pods is forbidden: User \\"system:serviceaccount:shop:janitor\\" '
                  'cannot list resource \\"pods\\" in API group \\"\\" in the namespace \\"shop\\""')


def rbac_facts(rules: list | None = [{"apiGroups": ["apps"], "resources": ["deployments"],  # noqa: B006 - read only
                                      "verbs": ["get", "list"]}], line: str = FORBIDDEN_LINE) -> Facts:
    """A container whose API request is forbidden, with the Role bound to its ServiceAccount (if seen)."""
    seen = [pod(), obj("RoleBinding", "janitor", spec=None, subjects=[{"kind": "ServiceAccount", "name": "janitor"}],
                       roleRef={"kind": "Role", "name": "janitor-role"})]
    if rules is not None:
        seen.append(obj("Role", "janitor-role", spec=None, rules=rules))
    return facts(*seen, logs=[log(line)])


def ingress_facts(class_name: str, *, missing: bool) -> Facts:
    """An Ingress naming `class_name`; when `missing`, the lookup of that class said not found and listed nginx."""
    seen = facts(obj("Ingress", "docs", spec={"ingressClassName": class_name}))
    if missing:
        seen.missing[("IngressClass", None, class_name)] = "c2"
        seen.listed[("IngressClass", None)] = (["nginx"], "c2")
    return seen


CASES = [
    Case("insufficient-memory", "unschedulable_resources",
         unschedulable("0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available.",
                       containers=[container("engine", resources={"requests": {"memory": "16Gi"}})]),
         "unschedulable", "Pod/web-7f9c-abcde", "requests 16Gi of memory",
         ("spec.containers[name=engine].resources.requests.memory", None)),
    # The process never ran: a size that fits a node is a candidate for the owner, not a value to set.
    Case("insufficient-memory-candidate-is-half-the-largest-node", "unschedulable_resources",
         with_nodes(unschedulable("0/3 nodes are available: 3 Insufficient memory.",
                                  containers=[container("engine", resources={"requests": {"memory": "16Gi"},
                                                                             "limits": {"memory": "16Gi"}})]),
                    "8Gi", "6Gi"),
         "unschedulable", says="the largest node has 8192Mi allocatable",
         fix=("spec.containers[name=engine].resources.requests.memory", None)),
    Case("insufficient-cpu-candidate-is-half-the-largest-node", "unschedulable_resources",
         with_nodes(unschedulable("0/3 nodes are available: 3 Insufficient cpu.",
                                  containers=[container("engine", resources={"requests": {"cpu": "8"}})]),
                    "8Gi", "8Gi", cpu="3500m"),
         "unschedulable", fix=("spec.containers[name=engine].resources.requests.cpu", None)),
    Case("insufficient-gpu", "unschedulable_resources",
         unschedulable("0/3 nodes are available: 1 Insufficient nvidia.com/gpu, 2 node(s) had untolerated taint {a: b}."),
         "unschedulable", says="of nvidia.com/gpu"),
    Case("resources-not-for-taints", "unschedulable_resources", unschedulable("0/3 nodes are available: 3 node(s) had untolerated taint {a: b}.")),
    Case("node-selector", "unschedulable_node_selector",
         unschedulable("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
                       nodeSelector={"disktype": "nvme"}),
         "unschedulable", says="nodeSelector {'disktype': 'nvme'} matches no node", fix=("spec.nodeSelector", REMOVE)),
    Case("node-selector-some-nodes-match", "unschedulable_node_selector",
         unschedulable("0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu.",
                       nodeSelector={"disktype": "nvme"}),
         "unschedulable", says="nodeSelector {'disktype': 'nvme'}", fix=("spec.nodeSelector", None)),
    Case("untolerated-taint", "unschedulable_taint",
         unschedulable("0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: batch}. preemption: x"),
         "unschedulable", says="tainted dedicated=batch:NoSchedule",
         fix=("spec.tolerations", [{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}])),
    Case("old-taint-wording", "unschedulable_taint",
         unschedulable("0/2 nodes are available: 2 node(s) had taint {gpu: true}, that the pod didn't tolerate."),
         "unschedulable", says="gpu=true"),
    Case("not-ready-taint-is-a-node-failure", "unschedulable_taint",
         unschedulable("0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."),
         "node_failure"),
    Case("unbound-pvc", "unschedulable_unbound_pvc",
         unschedulable("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: x",
                       volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "homepage-pvc"}}]),
         "storage", "PersistentVolumeClaim/homepage-pvc", "homepage-pvc is not bound"),
    Case("other-fit-error", "unschedulable_other", unschedulable("0/3 nodes are available: 3 Too many pods."),
         "unschedulable", says="Too many pods"),
    Case("scheduled-pod-is-fine", "unschedulable_other", facts(pod())),
    Case("storageclass-missing", "pvc_storageclass_missing",
         facts(obj("PersistentVolumeClaim", "homepage-pvc", spec={"storageClassName": "fast-ssd"}, status={"phase": "Pending"}),
               obj("StorageClass", "standard", ns=None, meta={"annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}),
               event("ProvisioningFailed", 'storageclass.storage.k8s.io "fast-ssd" not found',
                     kind="PersistentVolumeClaim", name="homepage-pvc")),
         "storage", "PersistentVolumeClaim/homepage-pvc", "StorageClass fast-ssd", ("spec.storageClassName", "standard")),
    Case("pvc-pending-other", "pvc_pending",
         facts(obj("PersistentVolumeClaim", "data", status={"phase": "Pending"}),
               event("ProvisioningFailed", "failed to provision volume: quota exceeded", kind="PersistentVolumeClaim", name="data")),
         "storage", says="quota exceeded"),
    Case("bound-pvc-is-fine", "pvc_pending", facts(obj("PersistentVolumeClaim", "data", status={"phase": "Bound"}))),
    Case("unbound-pvc-is-not-other", "unschedulable_other",
         unschedulable("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: x")),
    Case("storageclass-missing-from-events-alone", "pvc_storageclass_missing",
         facts(event("ProvisioningFailed", 'storageclass.storage.k8s.io "fast-ssd" not found',
                     kind="PersistentVolumeClaim", name="homepage-pvc")),
         "storage", "PersistentVolumeClaim/homepage-pvc", "StorageClass fast-ssd"),
    Case("volume-full", "volume_full",
         facts(pod(volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "data-0"}}]),
               obj("PersistentVolumeClaim", "data-0", spec={"resources": {"requests": {"storage": "100Mi"}}}),
               logs=[log("write /data/x: No space left on device")]),
         "storage", "PersistentVolumeClaim/data-0", "is full", ("spec.resources.requests.storage", "400Mi")),
    Case("node-not-ready", "node_not_ready",
         facts(obj("Node", "worker-2", ns=None, status={"conditions": [
             {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status."}]})),
         "node_failure", "Node/worker-2", "Kubelet stopped posting node status."),
    Case("node-ready-is-fine", "node_not_ready",
         facts(obj("Node", "worker-1", ns=None, status={"conditions": [{"type": "Ready", "status": "True"}]}))),
    Case("node-disk-pressure", "node_pressure",
         facts(obj("Node", "worker-3", ns=None, status={"conditions": [
             {"type": "DiskPressure", "status": "True", "reason": "KubeletHasDiskPressure", "message": "disk 93% full"}]})),
         "node_failure", "Node/worker-3", "DiskPressure"),
    Case("selector-mismatch", "service_selector_mismatch",
         facts(SERVICE, obj("Endpoints", "nginx", subsets=[]), NGINX_POD, service="nginx"),
         "service_unreachable", "Service/nginx", "selects app=web but the pods are labelled app=nginx",
         ("spec.selector", {"app": "nginx"})),
    Case("scaled-to-zero", "workload_scaled_to_zero",
         facts(obj("Service", "web", spec={"selector": {"app": "web"}}), obj("Deployment", "web", spec={"replicas": 0}),
               event("ScalingReplicaSet", "Scaled down replica set web-5d8f from 3 to 0", kind="Deployment", name="web",
                     type_="Normal"), service="web"),
         "service_unreachable", "Deployment/web", "scaled from 3 to 0", ("spec.replicas", 3)),
    Case("scaled-to-zero-no-history", "workload_scaled_to_zero",
         facts(obj("Service", "web", spec={"selector": {"app": "web"}}), obj("Deployment", "web", spec={"replicas": 0}),
               service="web")),
    Case("scaled-back-up-since", "workload_scaled_to_zero",
         facts(obj("Service", "web", spec={"selector": {"app": "web"}}), obj("Deployment", "web", spec={"replicas": 3}),
               event("ScalingReplicaSet", "Scaled down replica set web-5d8f from 3 to 0", kind="Deployment", name="web",
                     type_="Normal"), service="web")),
    # Another workload's pods share the selector's key (`app`); the pods meant carry the Service's name as a value.
    Case("selector-mismatch-not-fooled-by-a-shared-key", "service_selector_mismatch",
         facts(obj("Service", "cart-api", spec={"selector": {"app": "cart-api"}, "ports": [{"port": 80, "targetPort": "http"}]}),
               obj("Endpoints", "cart-api", subsets=[]),
               pod("cart-api-7f9c-abcde", labels={"app.kubernetes.io/name": "cart-api"},
                   containers=[container("cart-api", ports=[{"containerPort": 8080, "name": "http"}])]),
               pod("exporter-5d8f-fghij", labels={"app": "exporter"}, owner="ReplicaSet/exporter-5d8f"),
               service="cart-api"),
         "service_unreachable", "Service/cart-api", "the pods are labelled app.kubernetes.io/name=cart-api",
         ("spec.selector", {"app.kubernetes.io/name": "cart-api"})),
    Case("selector-matches", "service_selector_mismatch",
         facts(obj("Service", "nginx", spec={"selector": {"app": "nginx"}}), NGINX_POD, service="nginx")),
    Case("target-port-not-declared", "service_target_port_mismatch",
         facts(obj("Service", "nginx", spec={"selector": {"app": "nginx"}, "ports": [{"name": "http", "port": 80, "targetPort": 9999}]}),
               NGINX_POD, service="nginx"),
         "service_unreachable", says="targetPort 9999", fix=("spec.ports[name=http].targetPort", 80)),
    Case("target-port-from-endpoint-check", "service_target_port_mismatch",
         facts(obj("Service", "users", spec={"selector": {"app": "users"}, "portChecks": [
             {"port": 9090, "targetPort": 9999, "foundOnPods": False}]}), service="users"),
         "service_unreachable", says="targetPort 9999"),
    Case("endpoints-not-ready", "service_endpoints_not_ready",
         facts(obj("Service", "web", spec={"selector": {"app": "web"}}),
               obj("Endpoints", "web", subsets=[{"addresses": [], "notReadyAddresses": [{"ip": "10.0.0.1"}]}]), service="web"),
         "service_unreachable", says="none Ready"),
    Case("service-missing", "service_missing",
         Facts(focus={"namespace": "shop", "service": "catalog"}, missing={("Service", "shop", "catalog"): "c1"}),
         "service_unreachable", "Service/catalog", "does not exist"),
    Case("upstream-service-missing", "service_missing",
         Facts(focus={"namespace": "shop", "service": "frontend", "upstream_service": "catalog",
                      "upstream_namespace": "shop"}, missing={("Service", "shop", "catalog"): "c1"}),
         "service_unreachable", "Service/catalog", "does not exist"),
    Case("network-policy-drops-the-caller", "network_policy_blocks_caller", policy_facts(),
         "service_unreachable", "NetworkPolicy/ledger-ingress", "are not admitted",
         ("spec.ingress[0].from", [{"podSelector": {"matchLabels": {"app": "billing"}}},
                                   {"podSelector": {"matchLabels": {"app": "checkout"}}}])),
    Case("network-policy-admits-the-caller", "network_policy_blocks_caller", policy_facts(admitted="checkout")),
    Case("refused-is-not-a-policy", "network_policy_blocks_caller",
         policy_facts(line='error="Get \\"http://ledger/x\\": dial tcp 10.96.1.2:80: connect: connection refused"')),
    Case("rbac-forbidden-adds-the-rule", "rbac_forbidden", rbac_facts(),
         "rbac", "Pod/web-7f9c-abcde", "does not allow list on pods",
         ("rules", [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
                    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}])),
    Case("rbac-forbidden-adds-the-verb", "rbac_forbidden",
         rbac_facts(rules=[{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
         "rbac", says="does not allow list on pods", fix=("rules[0].verbs", ["get", "list"])),
    Case("rbac-forbidden-without-a-role-seen", "rbac_forbidden", rbac_facts(rules=None),
         "rbac", says="no Role bound to it grants it"),
    Case("rbac-not-forbidden", "rbac_forbidden", rbac_facts(line="error: connection reset by peer")),
    Case("ingress-class-missing", "ingress_class_missing",
         ingress_facts("example", missing=True),
         "service_unreachable", "Ingress/docs", "which does not exist", ("spec.ingressClassName", "nginx")),
    Case("ingress-class-exists", "ingress_class_missing",
         ingress_facts("nginx", missing=False)),
    # Without the ReplicaSet seen, how many pods are still to come is unknown: no value, a person sizes it.
    Case("quota-exceeded", "quota_exceeded",
         facts(event("FailedCreate", QUOTA_MSG, kind="ReplicaSet", name="api-7c9")),
         "quota", "ReplicaSet/api-7c9", "allows requests.cpu=20m", ('spec.hard["requests.cpu"]', None)),
    # 20m used + 10m for the one pod still to create + 10m for the rolling update's surge (25 % of 3, rounded up).
    Case("quota-exceeded-sized-from-the-replicaset", "quota_exceeded",
         facts(event("FailedCreate", QUOTA_MSG, kind="ReplicaSet", name="api-7c9"),
               obj("ReplicaSet", "api-7c9", spec={"replicas": 3}, status={"replicas": 2},
                   meta={"ownerReferences": [{"kind": "Deployment", "name": "api", "controller": True}]}),
               obj("Deployment", "api", spec={"replicas": 3})),
         "quota", "ReplicaSet/api-7c9", "allows requests.cpu=20m", ('spec.hard["requests.cpu"]', "40m")),
    Case("quota-exceeded-recreate-strategy", "quota_exceeded",
         facts(event("FailedCreate", QUOTA_MSG, kind="ReplicaSet", name="api-7c9"),
               obj("ReplicaSet", "api-7c9", spec={"replicas": 4}, status={"replicas": 2},
                   meta={"ownerReferences": [{"kind": "Deployment", "name": "api", "controller": True}]}),
               obj("Deployment", "api", spec={"replicas": 4, "strategy": {"type": "Recreate"}})),
         "quota", "ReplicaSet/api-7c9", "allows requests.cpu=20m", ('spec.hard["requests.cpu"]', "40m")),
    Case("quota-must-specify", "quota_exceeded",
         facts(event("FailedCreate", "Error creating: pods \"x\" is forbidden: failed quota: mem: must specify limits.memory",
                     kind="ReplicaSet", name="api-7c9")),
         "quota", says="requires limits.memory"),
    Case("webhook-no-endpoints", "admission_webhook_failed",
         facts(event("FailedCreate", 'Error creating: Internal error occurred: failed calling webhook "validate.policy.example.com": '
                                     'no endpoints available for service "policy-webhook"', kind="ReplicaSet", name="api-7c9")),
         "admission", says="validate.policy.example.com"),
    # A fail-closed webhook refuses every workload in the namespace: the one the alert names is the subject.
    Case("webhook-names-the-alerting-workload", "admission_webhook_failed",
         facts(*(event("FailedCreate", 'Error creating: Internal error occurred: failed calling webhook "v.example.com": '
                                       'no endpoints available for service "policy"', kind="ReplicaSet", name=rs)
                 for rs in ("metrics-5f6", "api-7c9")), deployment="api"),
         "admission", "ReplicaSet/api-7c9", "v.example.com"),
    Case("service-account-missing", "service_account_missing",
         facts(event("FailedCreate", 'Error creating: pods "x" is forbidden: error looking up service account shop/builder: '
                                     'serviceaccount "builder" not found', kind="ReplicaSet", name="api-7c9")),
         "missing_config", says="ServiceAccount builder"),
    Case("no-failed-create", "quota_exceeded", facts(event("SuccessfulCreate", "Created pod: x", kind="ReplicaSet", type_="Normal"))),
    Case("certificate-issuer-missing", "certificate_not_ready",
         facts(obj("Certificate", "shop-tls", spec={"issuerRef": {"name": "letsencrypt-prod", "kind": "ClusterIssuer"}},
                   status={"conditions": [{"type": "Ready", "status": "False", "reason": "IssuerNotFound", "message":
                                           'Referenced "ClusterIssuer" not found: clusterissuer "letsencrypt-prod" not found'}]}),
               obj("ClusterIssuer", "letsencrypt-production", ns=None)),
         "certificate", "Certificate/shop-tls", "not issued",
         ("spec.issuerRef.name", "letsencrypt-production")),
    Case("certificate-issuer-not-found-event", "certificate_issuer_missing",
         facts(event("IssuerNotFound", 'Referenced "ClusterIssuer" not found: clusterissuer.cert-manager.io '
                                       '"letsencrypt-prod" not found', kind="CertificateRequest", name="shop-tls-1",
                     type_="Normal"), certificate="shop-tls"),
         "certificate", "Certificate/shop-tls", "names ClusterIssuer letsencrypt-prod, which does not exist",
         ("spec.issuerRef.name", None)),
    Case("certificate-issuer-not-found-other-certificate", "certificate_issuer_missing",
         facts(event("IssuerNotFound", 'Referenced "ClusterIssuer" not found: clusterissuer.cert-manager.io '
                                       '"letsencrypt-prod" not found', kind="CertificateRequest", name="api-tls-1",
                     type_="Normal"), certificate="shop-tls")),
    Case("certificate-expiring", "certificate_expiring",
         Facts.of(obj("Certificate", "api-tls", status={"notAfter": "2026-11-25T00:00:00Z"}), now=NOW, focus={"namespace": "shop"}),
         "certificate", "Certificate/api-tls", "expires in 2 days"),
    Case("certificate-far-from-expiry", "certificate_expiring",
         Facts.of(obj("Certificate", "api-tls", status={"notAfter": "2027-06-01T00:00:00Z"}), now=NOW, focus={"namespace": "shop"})),
    Case("tls-secret-never-issued", "tls_secret_missing",
         Facts(focus={"namespace": "shop", "certificate": "shop-tls"}, missing={("Secret", "shop", "shop-tls"): "c1"}),
         "certificate", "Certificate/shop-tls", "never been issued"),
    Case("job-backoff-limit", "job_backoff_limit",
         facts(obj("Job", "get-data", status={"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                                              "message": "Job has reached the specified backoff limit"}]}),
               pod("get-data-x1", owner="Job/get-data", phase="Failed"),
               logs=[log("curl: (6) Could not resolve host: data.example", pod_name="get-data-x1")]),
         "job_failed", "Job/get-data", "Could not resolve host"),
    # Pods that never got to run their command (here OOM-killed) carry the cause: the Job's own finding
    # says so and stays below the bar, so the pod checks decide.
    Case("job-backoff-limit-pod-level-cause", "job_backoff_limit",
         facts(obj("Job", "get-data", status={"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                                              "message": "Job has reached the specified backoff limit"}]}),
               pod("get-data-x1", owner="Job/get-data", phase="Failed",
                   statuses=[status("web", terminated={"reason": "OOMKilled", "exitCode": 137})])),
         "job_failed", "Job/get-data", "Its pods failed with OOMKilled"),
    Case("hpa-missing-requests", "hpa_cannot_scale",
         facts(obj("HorizontalPodAutoscaler", "scorer", spec={"scaleTargetRef": {"kind": "Deployment", "name": "scorer"}},
                   status={"conditions": [{"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
                                           "message": "failed to get cpu utilization: missing request for cpu in container app"}]})),
         # nothing measured: a person sizes the request (no default value)
         "autoscaling", "HorizontalPodAutoscaler/scorer", "missing request for cpu",
         ("spec.template.spec.containers[name=app].resources.requests.cpu", None)),
    Case("hpa-missing-requests-sized-from-metrics", "hpa_cannot_scale",
         facts(obj("HorizontalPodAutoscaler", "scorer", spec={"scaleTargetRef": {"kind": "Deployment", "name": "scorer"}},
                   status={"conditions": [{"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
                                           "message": "failed to get cpu utilization: missing request for cpu in container app"}]}),
               obj("PodMetrics", "scorer-7d9f-abcde", spec=None, status=None,
                   containers=[{"name": "app", "usage": {"cpu": "90m", "memory": "610Mi"}}])),
         # 90m measured, plus 25 %, rounded up to 10m
         "autoscaling", "HorizontalPodAutoscaler/scorer", "missing request for cpu",
         ("spec.template.spec.containers[name=app].resources.requests.cpu", "120m")),
]


def test_a_claim_that_cannot_bind_outranks_the_schedulers_message() -> None:
    """Pod Pending on "unbound immediate PersistentVolumeClaims" and the provisioner's ProvisioningFailed: the
    claim is the fault (storage), not scheduling, even before the claim itself was described."""
    seen = unschedulable("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: x",
                         volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "homepage-pvc"}}])
    seen.add("Event", event("ProvisioningFailed", 'storageclass.storage.k8s.io "fast-ssd" not found',
                            kind="PersistentVolumeClaim", name="homepage-pvc"), "c2")
    found = [f for f in (check(seen) for check in checks().values()) if f is not None]
    best = max(found, key=lambda f: f.confidence)
    assert (best.category, best.subject.kind, best.subject.name) == ("storage", "PersistentVolumeClaim", "homepage-pvc")
    assert all(f.category != "unschedulable" for f in found)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cluster_check(case: Case) -> None:
    run_case(case)


def test_every_check_has_a_table_case_that_finds_something() -> None:
    found = {c.check for c in CASES + test_pod_checks.CASES + test_issue14_checks.CASES if c.category is not None}
    assert set(checks()) - found == set()


def test_a_size_that_only_fits_a_node_is_offered_as_a_candidate_not_set() -> None:
    case = next(c for c in CASES if c.id == "insufficient-memory-candidate-is-half-the-largest-node")
    finding = checks()[case.check](case.facts)
    assert finding is not None and finding.fixes[0].new_value is None
    assert "e.g. 4Gi" in finding.fixes[0].rationale and "only the owner knows" in finding.fixes[0].rationale


def test_a_job_that_failed_for_a_pod_level_cause_does_not_end_the_search() -> None:
    from agents.rules.conclusion import TRUST

    case = next(c for c in CASES if c.id == "job-backoff-limit-pod-level-cause")
    plain = next(c for c in CASES if c.id == "job-backoff-limit")
    finding, said = checks()[case.check](case.facts), checks()[plain.check](plain.facts)
    assert finding is not None and said is not None
    assert finding.confidence < TRUST <= said.confidence
