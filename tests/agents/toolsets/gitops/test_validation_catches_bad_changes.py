"""validate: schema errors and policy problems in what the change renders to; old problems are warnings."""

from __future__ import annotations

import pytest

from agents.toolsets.gitops import validate_change
from sim.scenario import find_scenario, load_scenario

GOOD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          resources:
            requests: {cpu: 50m, memory: 64Mi}
            limits: {memory: 128Mi}
"""


def _problems(new: str) -> list[tuple[str, str, str]]:
    return [(p.severity, p.path, p.message) for p in validate_change({"web.yaml": GOOD}, {"web.yaml": new}, ["web.yaml"])]


@pytest.mark.parametrize(("new", "expected"), [
    (GOOD.replace("nginx:1.27", "nginx:latest"),
     ("error", "spec.template.spec.containers[name=web].image",
      "container web uses 'nginx:latest'; pin a version instead of :latest")),
    (GOOD.replace("nginx:1.27", "nginx"),
     ("error", "spec.template.spec.containers[name=web].image", "container web image 'nginx' has no tag; pin a version")),
    (GOOD.replace("replicas: 2", "replicas: two"),
     ("error", "spec.replicas", "schema: 'two' is not of type 'integer', 'null'")),
    (GOOD.replace("          resources:", "          resourcez: {}\n          resources:"),
     ("error", "spec.template.spec.containers[name=web]",
      "schema: Additional properties are not allowed ('resourcez' was unexpected)")),
    (GOOD.replace("memory: 64Mi", "memory: 256Mi"),
     ("error", "spec.template.spec.containers[name=web].resources.requests.memory",
      "container web requests 256Mi memory, more than its limit 128Mi")),
    (GOOD.replace("limits: {memory: 128Mi}", "limits: {cpu: 100m}"),
     ("error", "spec.template.spec.containers[name=web].resources.limits.memory", "container web has no memory limit")),
], ids=["latest-image", "untagged-image", "schema-type", "schema-unknown-field", "request-over-limit", "no-memory-limit"])
def test_a_bad_change_is_caught(new: str, expected: tuple[str, str, str]) -> None:
    assert _problems(new) == [expected]


def test_a_good_change_passes() -> None:
    assert _problems(GOOD.replace("replicas: 2", "replicas: 3")) == []


def test_a_problem_the_tree_already_had_is_a_warning() -> None:
    scenario = load_scenario(find_scenario("oom_memory_hog"))  # polinux/stress is untagged, no memory request
    before = scenario.gitops.files
    path = "apps/memory-hog/deployment.yaml"
    after = {**before, path: before[path].replace("memory: 100Mi", "memory: 256Mi")}
    problems = validate_change(before, after, [path])
    assert {(p.severity, p.message) for p in problems} == {
        ("warning", "container memory-hog image 'polinux/stress' has no tag; pin a version (already so before this change)"),
        ("warning", "container memory-hog has no memory request (already so before this change)"),
    }


def test_kustomization_is_checked_for_known_keys_and_the_image_it_renders() -> None:
    scenario = load_scenario(find_scenario("image_pull_bad_tag"))
    before = scenario.gitops.files
    path = "apps/web/kustomization.yaml"
    after = {**before, path: before[path].replace("newTag: invalid-tag", "newTag: latest")
             .replace("resources:", "resourcez: []\nresources:")}
    problems = [(p.file, p.path, p.message) for p in validate_change(before, after, [path])]
    assert problems == [
        (path, "resourcez", "unknown kustomization field 'resourcez'"),
        (path, "images[name=nginx].newTag", "pin a version instead of newTag: latest"),
    ]


def test_a_file_that_is_not_yaml_is_a_problem() -> None:
    problems = validate_change({"web.yaml": GOOD}, {"web.yaml": "kind: [unclosed\n"}, ["web.yaml"])
    assert len(problems) == 1 and problems[0].severity == "error"
    assert "document 0" in problems[0].message and "not valid YAML" in problems[0].message
