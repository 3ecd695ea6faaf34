"""Lint rules for workload manifests: what a reviewer would ask for before merging one.

Each rule is a small function of one object returning (path, message) pairs; `LINT_RULES` names them.
The image and resource rules are the GitOps change checks (`policy_problems`) plus CPU, so a manifest
written here passes the same gate a remediation pull request does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agents.rules.quantity import parse_quantity
from agents.toolsets.gitops.tree import containers_of, split_image

Found = list[tuple[str, str]]
STANDARD_LABELS = ("app.kubernetes.io/name",)
SERVING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})


def image_pinned(obj: Mapping[str, Any]) -> Found:
    found: Found = []
    for path, container in containers_of(obj):
        image = str(container.get("image") or "")
        _, tag, digest = split_image(image)
        if not image:
            found.append((f"{path}.image", f"container {container.get('name')} has no image"))
        elif not digest and tag is None:
            found.append((f"{path}.image", f"image {image!r} has no tag; pin a version (e.g. {image}:1.2.3)"))
        elif not digest and tag == "latest":
            found.append((f"{path}.image", f"image {image!r} uses :latest; pin a version"))
    return found


def resources_set(obj: Mapping[str, Any]) -> Found:
    found: Found = []
    for path, container in containers_of(obj):
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            values = resources.get(kind) or {}
            missing = [r for r in ("cpu", "memory") if r not in values]
            if missing:
                found.append((f"{path}.resources.{kind}",
                              f"container {container.get('name')} sets no {' or '.join(missing)} {kind}"))
            found += [(f"{path}.resources.{kind}.{r}", f"{v!r} is not a Kubernetes quantity (e.g. 256Mi, 500m)")
                      for r, v in values.items() if parse_quantity(v) is None]
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        for r in ("cpu", "memory"):
            low, high = parse_quantity(requests.get(r)), parse_quantity(limits.get(r))
            if low is not None and high is not None and low > high:
                found.append((f"{path}.resources.requests.{r}",
                              f"requests {requests[r]} {r}, more than its limit {limits[r]}"))
    return found


def probes_set(obj: Mapping[str, Any]) -> Found:
    if obj.get("kind") not in SERVING_KINDS:
        return []
    found: Found = []
    for path, container in containers_of(obj):
        if ".initContainers" in path:
            continue
        for probe in ("readinessProbe", "livenessProbe"):
            if not container.get(probe):
                found.append((f"{path}.{probe}", f"container {container.get('name')} has no {probe}"))
    return found


def runs_as_non_root(obj: Mapping[str, Any]) -> Found:
    pod = _pod_spec(obj)
    pod_level = (pod.get("securityContext") or {}).get("runAsNonRoot") is True
    found: Found = []
    for path, container in containers_of(obj):
        context = container.get("securityContext") or {}
        if not (context.get("runAsNonRoot") is True or (pod_level and context.get("runAsNonRoot") is not False)):
            found.append((f"{path}.securityContext.runAsNonRoot",
                          f"container {container.get('name')} may run as root; set runAsNonRoot: true"))
        if context.get("readOnlyRootFilesystem") is not True:
            found.append((f"{path}.securityContext.readOnlyRootFilesystem",
                          f"container {container.get('name')} can write its root filesystem; "
                          "set readOnlyRootFilesystem: true"))
        if context.get("privileged") is True:
            found.append((f"{path}.securityContext.privileged", f"container {container.get('name')} is privileged"))
    return found


def labelled(obj: Mapping[str, Any]) -> Found:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return [("metadata.labels", f"missing the standard label {label}") for label in STANDARD_LABELS
            if label not in labels]


def selector_matches(obj: Mapping[str, Any]) -> Found:
    if obj.get("kind") not in SERVING_KINDS:
        return []
    spec = obj.get("spec") or {}
    wanted = ((spec.get("selector") or {}).get("matchLabels")) or {}
    labels = (((spec.get("template") or {}).get("metadata") or {}).get("labels")) or {}
    wrong = {k: v for k, v in wanted.items() if labels.get(k) != v}
    if wrong:
        return [("spec.selector.matchLabels", f"selector {wrong} does not match the pod template's labels {labels}")]
    return []


def _pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Pod":
        return spec
    if obj.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("spec")) or {}


LINT_RULES: dict[str, Callable[[Mapping[str, Any]], Found]] = {
    "image-pinned": image_pinned,
    "resources": resources_set,
    "probes": probes_set,
    "security-context": runs_as_non_root,
    "labels": labelled,
    "selector": selector_matches,
}


def lint(obj: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(rule, path, message) for every lint finding."""
    return [(rule, path, message) for rule, check in LINT_RULES.items() for path, message in check(obj)]
