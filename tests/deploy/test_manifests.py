"""The Kubernetes manifests in deploy/ are valid, read-only and hardened, checked offline."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from app.settings import Settings, env_vars_for

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# Not Kubernetes objects: the kustomization is kustomize's, the receiver is Alertmanager's, monitoring/ holds
# Prometheus rule files and promtool tests (tests/deploy/test_monitoring_rules.py checks those).
NOT_OBJECTS = {"kustomization.yaml", "alertmanager/receiver.yaml"}
MANIFESTS = sorted(
    p.relative_to(DEPLOY).as_posix()
    for p in DEPLOY.rglob("*.yaml")
    if p.relative_to(DEPLOY).as_posix() not in NOT_OBJECTS and not p.relative_to(DEPLOY).as_posix().startswith("monitoring/")
)
# The oldest supported release and the newest schemas the validator ships.
KUBERNETES_VERSIONS = ["1.31", ".".join(kubernetes_validate.latest_version().split(".")[:2])]

READ_VERBS = {"get", "list", "watch"}
# Each of these runs, attaches to or reaches into something: not reading.
FORBIDDEN_SUBRESOURCES = {"pods/exec", "pods/attach", "pods/portforward"}


def load(relative: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / relative).read_text()) if doc]


def load_one(relative: str) -> dict[str, Any]:
    (doc,) = load(relative)
    return doc


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to reach the network fails the test: schema validation must be offline."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("schema validation tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield


# -- schemas ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS, ids=lambda v: f"k8s-{v}")
@pytest.mark.parametrize("manifest", MANIFESTS)
def test_manifest_validates_against_kubernetes_schema(manifest: str, version: str, no_network: None) -> None:
    for obj in load(manifest):
        # strict: unknown fields (typos such as `readinesProbe`) are errors, not silently dropped.
        kubernetes_validate.validate(obj, version, strict=True)


def test_schema_validation_catches_a_typo(no_network: None) -> None:
    deployment = load_one("deployment.yaml")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


# -- RBAC ----------------------------------------------------------------------------------------


def rbac_violations(rules: list[dict[str, Any]]) -> list[str]:
    """Everything in the rules that is more than reading non-secret objects."""
    problems = []
    for number, rule in enumerate(rules):
        resources = set(rule.get("resources", []))
        if extra := set(rule.get("verbs", [])) - READ_VERBS:
            problems.append(f"rule {number} grants {sorted(extra)}")
        if "*" in resources or "*" in rule.get("apiGroups", []):
            problems.append(f"rule {number} uses a wildcard")
        if "secrets" in resources:
            problems.append(f"rule {number} grants secrets")
        if forbidden := resources & FORBIDDEN_SUBRESOURCES:
            problems.append(f"rule {number} grants {sorted(forbidden)}")
        if proxies := sorted(r for r in resources if r.endswith("/proxy")):
            problems.append(f"rule {number} grants {proxies}")
        if rule.get("nonResourceURLs"):
            problems.append(f"rule {number} grants non-resource URLs")
    return problems


def test_cluster_role_only_reads() -> None:
    role = load_one("clusterrole.yaml")
    assert rbac_violations(role["rules"]) == []
    granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    expected = {
        *(("", r) for r in ("pods", "pods/log", "events", "nodes", "services", "endpoints", "configmaps")),
        *(("", r) for r in ("persistentvolumeclaims", "persistentvolumes", "namespaces", "resourcequotas")),
        ("", "serviceaccounts"),
        ("events.k8s.io", "events"),
        ("discovery.k8s.io", "endpointslices"),
        *(("apps", r) for r in ("deployments", "replicasets", "statefulsets", "daemonsets")),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
        ("autoscaling", "horizontalpodautoscalers"),
        *(("networking.k8s.io", r) for r in ("ingresses", "networkpolicies", "ingressclasses")),
        ("storage.k8s.io", "storageclasses"),
        ("metrics.k8s.io", "pods"),
        ("metrics.k8s.io", "nodes"),
    }
    assert expected <= granted, f"missing: {sorted(expected - granted)}"


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        pytest.param(
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
            "grants secrets",
            id="list-secrets",
        ),
        pytest.param(
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]},
            "grants ['patch']",
            id="patch",
        ),
        pytest.param(
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}, "grants ['delete']", id="delete"
        ),
        pytest.param(
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}, "grants ['*']", id="verb-wildcard"
        ),
        pytest.param(
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]},
            "uses a wildcard",
            id="resource-wildcard",
        ),
        pytest.param(
            {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get"]}, "['pods/exec']", id="exec"
        ),
        pytest.param(
            {"apiGroups": [""], "resources": ["pods/attach"], "verbs": ["get"]},
            "['pods/attach']",
            id="attach",
        ),
        pytest.param(
            {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["get"]},
            "['pods/portforward']",
            id="portforward",
        ),
        pytest.param(
            {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
            "['nodes/proxy']",
            id="node-proxy",
        ),
        pytest.param(
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["clusterroles"],
                "verbs": ["escalate", "bind"],
            },
            "grants ['bind', 'escalate']",
            id="escalate",
        ),
        pytest.param({"nonResourceURLs": ["/metrics"], "verbs": ["get"]}, "non-resource URLs", id="urls"),
    ],
)
def test_rbac_check_catches_a_bad_rule(rule: dict[str, Any], problem: str) -> None:
    rules = [*load_one("clusterrole.yaml")["rules"], rule]
    problems = rbac_violations(rules)
    assert len(problems) == 1 and problem in problems[0], problems


def test_binding_gives_the_role_to_the_deployment_service_account() -> None:
    binding = load_one("clusterrolebinding.yaml")
    assert binding["roleRef"]["name"] == load_one("clusterrole.yaml")["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "opsgraph", "namespace": "opsgraph"}]
    pod = load_one("deployment.yaml")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == load_one("serviceaccount.yaml")["metadata"]["name"] == "opsgraph"


# -- Deployment ----------------------------------------------------------------------------------


def container() -> dict[str, Any]:
    (only,) = load_one("deployment.yaml")["spec"]["template"]["spec"]["containers"]
    return only


@pytest.mark.parametrize(
    ("probe", "path"),
    [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")],
)
def test_deployment_probes(probe: str, path: str) -> None:
    assert container()[probe]["httpGet"] == {"path": path, "port": "http"}
    assert container()["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


@pytest.mark.parametrize("kind", ["requests", "limits"])
@pytest.mark.parametrize("resource", ["cpu", "memory"])
def test_deployment_sets_resources(kind: str, resource: str) -> None:
    assert container()["resources"][kind][resource]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("runAsNonRoot", True),
        ("readOnlyRootFilesystem", True),
        ("allowPrivilegeEscalation", False),
        ("capabilities", {"drop": ["ALL"]}),
        ("seccompProfile", {"type": "RuntimeDefault"}),
    ],
)
def test_container_security_context(field: str, expected: object) -> None:
    assert container()["securityContext"][field] == expected


def test_pod_runs_as_numeric_non_root_user_with_tmp_and_no_service_links() -> None:
    pod = load_one("deployment.yaml")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    # The Service `opsgraph` would inject OPSGRAPH_PORT=tcp://... and break the port setting.
    assert pod["enableServiceLinks"] is False
    assert {"name": "tmp", "mountPath": "/tmp"} in container()["volumeMounts"]
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == "tmp")


def test_image_is_pinned_and_matches_kustomization() -> None:
    image = container()["image"]
    name, _, tag = image.rpartition(":")
    assert "/" not in tag and tag not in ("", "latest"), image
    (override,) = load_one("kustomization.yaml")["images"]
    assert (override["name"], override["newTag"]) == (name, tag)
    assert load_one("deployment.yaml")["spec"]["replicas"] == 2


def test_environment_comes_from_the_config_map_and_secret() -> None:
    sources = {next(iter(s)): s[next(iter(s))]["name"] for s in container()["envFrom"]}
    assert sources == {
        "configMapRef": load_one("configmap.yaml")["metadata"]["name"],
        "secretRef": load_one("secret.example.yaml")["metadata"]["name"],
    }


@pytest.mark.parametrize(
    ("manifest", "field"), [("configmap.yaml", "data"), ("secret.example.yaml", "stringData")]
)
def test_every_variable_is_a_setting(manifest: str, field: str) -> None:
    known = {name for f in Settings.model_fields for name in env_vars_for(f)}
    assert set(load_one(manifest)[field]) - known == set()


def test_service_routes_port_80_to_the_pods() -> None:
    service = load_one("service.yaml")["spec"]
    labels = load_one("deployment.yaml")["spec"]["template"]["metadata"]["labels"]
    assert service["type"] == "ClusterIP"
    assert service["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert service["selector"].items() <= labels.items()


# -- kustomization -------------------------------------------------------------------------------


def test_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    listed = load_one("kustomization.yaml")["resources"]
    top_level = sorted(p.name for p in DEPLOY.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == [m for m in top_level if m != "secret.example.yaml"]
    assert len(listed) == len(set(listed))


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_builds_without_the_secret() -> None:
    built = subprocess.run(["kubectl", "kustomize", str(DEPLOY)], capture_output=True, text=True, check=True)
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(built.stdout) if doc)
    assert "Secret" not in kinds and "Deployment" in kinds and "ClusterRole" in kinds


# -- Alertmanager snippet ------------------------------------------------------------------------


def test_alertmanager_receiver_posts_resolved_alerts_with_a_bearer_token() -> None:
    config = load_one("alertmanager/receiver.yaml")
    (receiver,) = config["receivers"]
    (webhook,) = receiver["webhook_configs"]
    assert receiver["name"] == "opsgraph"
    assert webhook["url"] == "http://opsgraph.opsgraph.svc/webhooks/alertmanager"
    assert webhook["send_resolved"] is True and webhook["max_alerts"] == 0
    authorization = webhook["http_config"]["authorization"]
    assert authorization["type"] == "Bearer" and authorization["credentials_file"].startswith("/")
    assert "credentials" not in authorization, "the token belongs in a file, not in the config"
    assert [r["receiver"] for r in config["route"]["routes"]] == ["opsgraph"]


def test_alertmanager_url_reaches_the_service() -> None:
    service = load_one("service.yaml")
    host = f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc"
    (port,) = service["spec"]["ports"]
    webhook = load_one("alertmanager/receiver.yaml")["receivers"][0]["webhook_configs"][0]
    assert port["port"] == 80 and webhook["url"].startswith(f"http://{host}/")
