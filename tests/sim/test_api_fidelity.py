"""API fidelity with the real kubectl and kubernetes client: pod defaulting, printer columns for every
served kind, kubectl auth can-i, impersonation, immutable fields and coherent creation times.

Wordings are quoted from upstream:
- pkg/apis/core/v1/defaults.go (SetDefaults_Probe: timeoutSeconds 1, periodSeconds 10, successThreshold 1,
  failureThreshold 3; SetDefaults_ContainerPort: protocol TCP; SetDefaults_Container: imagePullPolicy Always
  for `:latest` or no tag) and kubectl describe's probe line
  (`http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3`);
- pkg/printers/internalversion/printers.go for the column names and cells of `kubectl get`;
- staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go forbiddenMessage:
  `pods is forbidden: User "u" cannot list resource "pods" in API group "" in the namespace "ns"`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.derive.names import ALPHANUMS
from tests.sim.scenario_support import client, deployment, kubectl, pods_of, running, service
from tests.sim.test_controller_faults import seeded

PROBED = deployment("api", "shop", "registry.local/api:2.1", ports=[{"containerPort": 8080}],
                    livenessProbe={"httpGet": {"path": "/healthz", "port": 8080}},
                    readinessProbe={"tcpSocket": {"port": 8080}, "initialDelaySeconds": 5})


def test_kubectl_describe_pod_prints_the_defaulted_probe_port_tolerations_and_token_volume(tmp_path: Path) -> None:
    with running(tmp_path, "defaults", [PROBED]) as sim:
        (pod,) = pods_of(sim, "shop", "api")
        out = kubectl(sim, "describe", "pod", "-n", "shop", pod["metadata"]["name"]).stdout
    assert "Liveness:       http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3" in out
    assert "Readiness:      tcp-socket :8080 delay=5s timeout=1s period=10s #success=1 #failure=3" in out
    assert "    Port:           8080/TCP\n" in out
    assert "Tolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\n" \
           "                             node.kubernetes.io/unreachable:NoExecute op=Exists for 300s" in out
    volume = next(v["name"] for v in pod["spec"]["volumes"] if v["name"].startswith("kube-api-access-"))
    assert len(volume) == len("kube-api-access-") + 5 and set(volume[-5:]) <= set(ALPHANUMS)
    assert f"/var/run/secrets/kubernetes.io/serviceaccount from {volume} (ro)" in out


@pytest.mark.parametrize(("image", "policy"), [("nginx", "Always"), ("nginx:latest", "Always"),
                                               ("nginx:1.27", "IfNotPresent"),
                                               ("nginx@sha256:" + "a" * 64, "IfNotPresent")])
def test_a_pod_created_through_the_api_is_defaulted(tmp_path: Path, image: str, policy: str) -> None:
    from kubernetes import client as k8s

    with running(tmp_path, "bare", []) as sim:
        core = k8s.CoreV1Api(client(sim))
        core.create_namespaced_pod("default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare"},
                                               "spec": {"containers": [{"name": "c", "image": image,
                                                                        "ports": [{"containerPort": 80}]}]}})
        pod = core.read_namespaced_pod("bare", "default")
    spec, container = pod.spec, pod.spec.containers[0]
    assert (spec.dns_policy, spec.restart_policy, spec.service_account_name, spec.scheduler_name) == \
        ("ClusterFirst", "Always", "default", "default-scheduler")
    assert spec.termination_grace_period_seconds == 30
    assert {(t.key, t.effect, t.toleration_seconds) for t in spec.tolerations} == {
        ("node.kubernetes.io/not-ready", "NoExecute", 300), ("node.kubernetes.io/unreachable", "NoExecute", 300)}
    assert (container.image_pull_policy, container.termination_message_path, container.termination_message_policy) \
        == (policy, "/dev/termination-log", "File")
    assert container.ports[0].protocol == "TCP"


def _table(out: str) -> list[list[str]]:
    import re

    return [re.split(r"\s{2,}", line.strip()) for line in out.strip().splitlines()]


OBJECTS: list[dict[str, Any]] = [
    deployment("web", "shop", "nginx:1.27", replicas=2, ports=[{"containerPort": 80}]),
    service("web", "shop", {"app": "web"}, 80, 80),
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "web-in", "namespace": "shop"},
     "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "shop"},
     "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
    {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}},
    {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 4,
              "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                  "type": "Utilization", "averageUtilization": 80}}}]}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"},
     "spec": {"controller": "k8s.io/ingress-nginx"}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
              "rules": [{"host": "shop.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                  "service": {"name": "web", "port": {"number": 80}}}}]}}]}},
    {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
     "metadata": {"name": "policy"}, "webhooks": [
         {"name": "a.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
          "clientConfig": {"url": "https://policy.example.com/a"}, "failurePolicy": "Ignore"},
         {"name": "b.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
          "clientConfig": {"url": "https://policy.example.com/b"}, "failurePolicy": "Ignore"}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "reader", "namespace": "shop"},
     "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "reader",
                                                                                      "namespace": "shop"},
     "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": "shop"},
                  {"kind": "User", "name": "jane"}],
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}},
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "viewer", "namespace": "shop"}},
    {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute", "namespace": "shop"},
     "spec": {"hard": {"pods": "10"}}},
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000,
     "preemptionPolicy": "Never"},
]


@pytest.mark.parametrize(("args", "header", "row"), [
    (["get", "endpoints", "-n", "shop", "web"], ["NAME", "ENDPOINTS", "AGE"], ["web", "10.244.", ""]),
    (["get", "endpointslices", "-n", "shop"], ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
     ["web-", "IPv4", "80", "10.244.", ""]),
    (["get", "storageclass"], ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"],
     ["standard (default)", "rancher.io/local-path", "Delete", "Immediate", "false", "12d"]),
    (["get", "netpol", "-n", "shop", "web-in"], ["NAME", "POD-SELECTOR", "AGE"], ["web-in", "app=web", "30m"]),
    (["get", "netpol", "-n", "shop", "deny"], ["NAME", "POD-SELECTOR", "AGE"], ["deny", "<none>", "30m"]),
    (["get", "pdb", "-n", "shop"], ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"],
     ["web", "N/A", "1", "1", "30m"]),
    (["get", "hpa", "-n", "shop"], ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"],
     ["web", "Deployment/web", "cpu: <unknown>/80%", "<unset>", "4", "2", "30m"]),
    (["get", "ingress", "-n", "shop"], ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"],
     ["web", "nginx", "shop.example.com", "172.18.255.200", "80, 443", "30m"]),
    (["get", "ingressclass"], ["NAME", "CONTROLLER", "PARAMETERS", "AGE"], ["nginx", "k8s.io/ingress-nginx", "<none>", "30m"]),
    (["get", "validatingwebhookconfigurations"], ["NAME", "WEBHOOKS", "AGE"], ["policy", "2", "30m"]),
    (["get", "rolebinding", "-n", "shop", "-o", "wide"], ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
     ["reader", "Role/reader", "30m", "jane", "shop/viewer"]),
    (["get", "role", "-n", "shop"], ["NAME", "CREATED AT"], ["reader"]),
    (["get", "sa", "-n", "shop", "viewer"], ["NAME", "SECRETS", "AGE"], ["viewer", "0", "30m"]),
    (["get", "quota", "-n", "shop"], ["NAME", "AGE", "REQUEST", "LIMIT"],
     ["compute", "30m", "pods: 2/10"]),
    (["get", "priorityclass", "high"], ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"],
     ["high", "1000", "false", "30m", "Never"]),
], ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0] == "get" else None)
def test_kubectl_get_prints_every_kind_with_its_upstream_columns(tmp_path: Path, args: list[str], header: list[str],
                                                                row: list[str]) -> None:
    with running(tmp_path, "tables", OBJECTS) as sim:
        result = kubectl(sim, *args)
    assert result.returncode == 0, result.stderr
    lines = _table(result.stdout)
    assert lines[0] == header
    first = lines[1]
    assert len(first) >= len(row)
    for cell, wanted in zip(first, row, strict=False):
        assert cell.startswith(wanted), (cell, wanted, lines)


def test_kubectl_auth_can_i_answers_from_the_scenario_rbac(tmp_path: Path) -> None:
    with running(tmp_path, "rbac", OBJECTS) as sim:
        def can_i(*args: str) -> str:
            return kubectl(sim, "auth", "can-i", *args).stdout.strip()

        assert can_i("delete", "nodes") == "yes"  # the kubeconfig's user is the cluster admin
        assert can_i("get", "pods", "-n", "shop", "--as=system:serviceaccount:shop:viewer") == "yes"
        assert can_i("list", "pods", "-n", "shop", "--as=system:serviceaccount:shop:viewer") == "no"
        assert can_i("get", "pods", "-n", "default", "--as=system:serviceaccount:shop:viewer") == "no"
        assert can_i("get", "pods", "-n", "shop", "--as=jane") == "yes"
        assert can_i("get", "pods", "--subresource=log", "-n", "shop", "--as=jane") == "no"
        denied = kubectl(sim, "get", "pods", "-n", "shop", "--as=system:serviceaccount:shop:viewer")
        assert denied.returncode == 1
        assert denied.stderr.strip() == (
            'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:shop:viewer" cannot '
            'list resource "pods" in API group "" in the namespace "shop"')
        nodes = kubectl(sim, "get", "nodes", "--as=jane")
        assert 'User "jane" cannot list resource "nodes" in API group "" at the cluster scope' in nodes.stderr


def test_subject_access_review_through_the_kubernetes_client(tmp_path: Path) -> None:
    from kubernetes import client as k8s

    with running(tmp_path, "sar", OBJECTS) as sim:
        auth = k8s.AuthorizationV1Api(client(sim))
        review = auth.create_subject_access_review({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": "system:serviceaccount:shop:viewer",
                     "resourceAttributes": {"namespace": "shop", "verb": "get", "resource": "pods"}}})
        assert review.status.allowed is True
        assert review.status.reason == ('RBAC: allowed by RoleBinding "reader/shop" of Role "reader/shop" to '
                                        'ServiceAccount "viewer/shop"')
        self_review = auth.create_self_subject_access_review({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "delete", "resource": "nodes"}}})
        assert self_review.status.allowed is True
        with pytest.raises(k8s.ApiException) as bad:
            auth.create_subject_access_review({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                                               "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}})
        assert bad.value.status == 422


def test_immutable_fields_are_refused_by_the_api_server_itself(tmp_path: Path) -> None:
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "shop"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    with running(tmp_path, "immutable", [deployment("web", "shop", "nginx:1.27"), pvc]) as sim:
        selector = kubectl(sim, "patch", "deployment", "web", "-n", "shop", "--type=merge",
                           "-p", '{"spec":{"selector":{"matchLabels":{"app":"other"}},'
                                 '"template":{"metadata":{"labels":{"app":"other"}}}}}')
        storage = kubectl(sim, "patch", "pvc", "data", "-n", "shop", "--type=merge",
                          "-p", '{"spec":{"storageClassName":"fast-ssd"}}')
    assert selector.returncode == 1
    assert selector.stderr.startswith('The Deployment "web" is invalid: spec.selector: Invalid value: ')
    assert selector.stderr.strip().endswith("field is immutable")
    assert storage.stderr.startswith(
        'The PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except '
        "resources.requests and volumeAttributesClassName for bound claims")


def test_creation_times_are_coherent_across_revisions() -> None:
    store, _, _ = seeded("rollout_stuck_bad_release")
    by_uid = {o["metadata"]["uid"]: o for kind in store.kinds() for o in store.list(kind)}
    checked = 0
    for obj in by_uid.values():
        for ref in obj["metadata"].get("ownerReferences") or []:
            owner = by_uid.get(ref["uid"])
            if owner is not None:
                assert owner["metadata"]["creationTimestamp"] <= obj["metadata"]["creationTimestamp"], \
                    (obj["metadata"]["name"], owner["metadata"]["name"])
                checked += 1
    assert checked > 3
    revisions = sorted(store.list("ReplicaSet", "commerce"),
                       key=lambda r: int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))
    assert len(revisions) == 2
    assert revisions[0]["metadata"]["creationTimestamp"] < revisions[1]["metadata"]["creationTimestamp"]


JANITOR_WORLD = {"images": {"registry.local/janitor": {"api_requests": [
    {"verb": "list", "resource": "pods"}, {"verb": "get", "resource": "nodes", "namespace": ""}]}}}


def _janitor(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    app = deployment("janitor", "ops", "registry.local/janitor:0.4")
    app["spec"]["template"]["spec"]["serviceAccountName"] = "janitor"
    return [app, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "janitor", "namespace": "ops"}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "janitor", "namespace": "ops"},
             "rules": rules},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": "janitor", "namespace": "ops"},
             "subjects": [{"kind": "ServiceAccount", "name": "janitor", "namespace": "ops"}],
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "janitor"}}]


def test_a_process_calling_the_api_is_refused_by_rbac_until_its_role_grants_the_verb(tmp_path: Path) -> None:
    rules = [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]}]
    with running(tmp_path, "janitor", _janitor(rules), world=JANITOR_WORLD) as sim:
        (pod,) = pods_of(sim, "ops", "janitor")
        assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        log = kubectl(sim, "logs", "-n", "ops", pod["metadata"]["name"], "--previous").stdout
        assert 'error="pods is forbidden: User \\"system:serviceaccount:ops:janitor\\" cannot list resource ' \
               '\\"pods\\" in API group \\"\\" in the namespace \\"ops\\""' in log
        # The fix: list on pods. The next request the process makes (a cluster-scoped get of nodes) is refused
        # in turn, worded for the cluster scope: a Role cannot grant it.
        kubectl(sim, "patch", "role", "janitor", "-n", "ops", "--type=json", "-p",
                '[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["pods"],"verbs":["list"]}}]')
        (pod,) = [p for p in pods_of(sim, "ops", "janitor") if not p["metadata"].get("deletionTimestamp")]
        log = kubectl(sim, "logs", "-n", "ops", pod["metadata"]["name"], "--previous").stdout
        assert 'cannot get resource \\"nodes\\" in API group \\"\\" at the cluster scope' in log


def test_a_process_allowed_by_its_role_runs(tmp_path: Path) -> None:
    world = {"images": {"registry.local/janitor": {"api_requests": [{"verb": "list", "resource": "pods"}]}}}
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    with running(tmp_path, "janitor-ok", _janitor(rules), world=world) as sim:
        (pod,) = pods_of(sim, "ops", "janitor")
        assert "running" in pod["status"]["containerStatuses"][0]["state"]


def test_an_ingress_is_served_only_when_its_class_exists(tmp_path: Path) -> None:
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"ingressClassName": "example", "rules": [{"host": "shop.example.com"}]}}
    nginx = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"},
             "spec": {"controller": "k8s.io/ingress-nginx"}}
    with running(tmp_path, "ingress", [ingress, nginx]) as sim:
        before = _table(kubectl(sim, "get", "ingress", "-n", "shop").stdout)
        assert before[1] == ["web", "example", "shop.example.com", "80", "30m"]  # no ADDRESS: nobody serves it
        kubectl(sim, "patch", "ingress", "web", "-n", "shop", "--type=merge", "-p", '{"spec":{"ingressClassName":"nginx"}}')
        after = _table(kubectl(sim, "get", "ingress", "-n", "shop").stdout)
        events = kubectl(sim, "get", "events", "-n", "shop").stdout
    assert after[1][:4] == ["web", "nginx", "shop.example.com", "172.18.255.200"]
    assert "Scheduled for sync" in events


def test_node_addresses_come_from_the_scenario(tmp_path: Path) -> None:
    nodes = [{"name": "gke-pool-a-1", "addresses": [{"type": "InternalIP", "address": "10.128.0.7"},
                                                    {"type": "ExternalIP", "address": "34.70.1.2"},
                                                    {"type": "Hostname", "address": "gke-pool-a-1"}]},
             {"name": "gke-pool-a-2"}]
    with running(tmp_path, "nodes", [], nodes=nodes) as sim:
        rows = _table(kubectl(sim, "get", "nodes", "-o", "wide").stdout)
    assert rows[0][:7] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP"]
    assert rows[1][:1] + rows[1][5:7] == ["gke-pool-a-1", "10.128.0.7", "34.70.1.2"]
    assert rows[2][:1] + rows[2][5:7] == ["gke-pool-a-2", "172.18.0.3", "<none>"]  # the default, by index
