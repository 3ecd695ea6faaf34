"""The YAML agent's checks: generated manifests validate; each distinct problem of a pasted manifest is
reported with its document, field path and rule; a Kubernetes version without schemas is said so."""

from __future__ import annotations

import pytest

from agents.manifests.check import check_manifests
from agents.manifests.generate import ManifestRequest, generate_manifests, to_yaml

FIVE_PROBLEMS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels: {app.kubernetes.io/name: shop}
spec:
  replicas: two
  selector: {matchLabels: {app.kubernetes.io/name: shop}}
  template:
    metadata: {labels: {app.kubernetes.io/name: shop}}
    spec:
      containers:
        - name: shop
          image: registry.example/shop:latest
          resources:
            requests: {cpu: 100m, memory: 512Mi}
            limits: {cpu: 500m, memory: 256Mi}
          readinessProbe: {httpGet: {path: /ready, port: 8080}}
          livenessProbe: {httpGet: {path: /live, port: 8080}}
          securityContext: {runAsNonRoot: true, readOnlyRootFilesystem: true}
          restartPolicyX: Always
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app.kubernetes.io/name: shop}
  ports: [{port: 80, targetPort: 8080}]
"""


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service"])
def test_generated_manifests_validate_and_lint_clean(kind: str) -> None:
    text = to_yaml(generate_manifests(ManifestRequest(kind=kind, image="ghcr.io/acme/api:2.4.1", port=8080,
                                                      namespace="shop", replicas=3, with_service=True)))
    report = check_manifests(text, "1.31")
    assert report.problems == [], report.summary()
    assert report.objects[0] == f"{kind}/api"


def test_generated_workload_has_the_sound_defaults() -> None:
    (deployment,) = generate_manifests(ManifestRequest(image="nginx:1.27.3", replicas=3))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert deployment["spec"]["replicas"] == 3
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["readinessProbe"] and container["livenessProbe"]
    assert deployment["metadata"]["labels"]["app.kubernetes.io/name"] == "nginx"


@pytest.mark.parametrize("image", ["nginx", "nginx:latest"])
def test_an_unpinned_image_is_refused_not_guessed(image: str) -> None:
    with pytest.raises(ValueError, match="not pinned"):
        ManifestRequest(image=image)


def test_a_manifest_with_five_distinct_problems_gets_all_five() -> None:
    report = check_manifests(FIVE_PROBLEMS, "1.31")
    found = {(p.rule, p.path) for p in report.problems}
    container = "spec.template.spec.containers[name=shop]"
    assert found == {
        ("schema", "spec.replicas"),  # 'two' is not an integer
        ("schema", container),  # restartPolicyX is not a container field
        ("image-pinned", f"{container}.image"),  # :latest
        ("resources", f"{container}.resources.requests.memory"),  # request above limit
        ("labels", "metadata.labels"),  # the Service lacks the standard label
    }, report.summary()
    assert {p.document for p in report.problems} == {0, 1}
    assert "restartPolicyX" in next(p.message for p in report.problems if p.path == container)
    assert not report.ok


def test_invalid_yaml_names_the_line() -> None:
    report = check_manifests("apiVersion: v1\nkind: Pod\nmetadata: {name: p\n", "1.31")
    (problem,) = report.problems
    assert problem.rule == "yaml" and "line" in problem.message


def test_a_version_without_bundled_schemas_is_a_warning() -> None:
    text = to_yaml(generate_manifests(ManifestRequest(image="nginx:1.27.3")))
    report = check_manifests(text, "9.99")
    assert report.ok and [p.severity for p in report.problems] == ["warning"]
    assert "newer than the bundled schemas" in report.problems[0].message
