"""References to objects that do not exist, and the objects that do: what a fix can point a reference at.

A pod (or claim) names a ConfigMap, Secret, pull secret or StorageClass that is not there. The rules ask for
it by name; the executor's not-found answer lists the names that exist (`Facts.listed`), and the closest of
those are fetched so a check can tell whether one is the object the author meant (same key, right type,
the default class).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from agents.rules import pods
from agents.rules.facts import Facts

REF_MISSING = (
    re.compile(r'\b(secret|configmap)s?\s+\\?"([^"\\]+)\\?" not found', re.I),
    re.compile(r"couldn't find key (\S+) in (Secret|ConfigMap) [^/\s]+/([^\s\"]+)", re.I),
)
REF_KINDS = {"secret": "Secret", "configmap": "ConfigMap"}
PULL_SECRETS = re.compile(r"image pull secrets \(([^)]+)\)")
CLASS_MISSING = re.compile(r'storageclass\.storage\.k8s\.io \\?"([^"\\]+)\\?" not found')
# Objects every namespace has that are never what an author meant to reference.
_IMPLICIT = ("kube-root-ca.crt",)
_PULL_SECRET_TYPES = ("kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg")


def pod_messages(facts: Facts, pod: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(message, call) for the pod's waiting states and its Failed/FailedMount/pull-secret events."""
    for status in pods.statuses(pod):
        if message := pods.waiting(status).get("message"):
            yield message, facts.source("Pod", pod["metadata"].get("namespace"), pods.name(pod))
    for seen in facts.events_for("Pod", pods.name(pod), reasons=("Failed", "FailedMount", "FailedCreatePodSandBox",
                                                                   "FailedToRetrieveImagePullSecret")):
        yield seen.obj.get("message") or "", seen.call_id


def missing_object(facts: Facts) -> tuple[str, str] | None:
    """(kind, name) of the first object the focus pods or pending claims reference and the cluster lacks."""
    for pod in facts.pods():
        for message, _ in pod_messages(facts, pod):
            if match := REF_MISSING[0].search(message):
                return REF_KINDS[match.group(1).lower()], match.group(2)
            if match := PULL_SECRETS.search(message):
                return "Secret", match.group(1).split(",")[0].strip()
    for seen in facts.events_for("PersistentVolumeClaim", reasons=("ProvisioningFailed",)):
        if match := CLASS_MISSING.search(seen.obj.get("message") or ""):
            return "StorageClass", match.group(1)
    return None


# Two names this close in similarity to the missing one are equally likely meant: the cluster cannot tell.
AMBIGUOUS_WITHIN = 0.05


def similarity(name: str, other: str) -> float:
    return difflib.SequenceMatcher(None, name, other).ratio()


def closest(name: str, names: list[str], *, cutoff: float = 0.0) -> list[str]:
    """`names` (without `name` and implicit objects) most similar to `name` first; below `cutoff` left out."""
    ranked = [(similarity(name, other), other) for other in names if other != name and other not in _IMPLICIT]
    return [other for score, other in sorted(ranked, key=lambda item: (-item[0], item[1])) if score >= cutoff]


def unambiguous(name: str, candidates: list[str]) -> str | None:
    """The first of `candidates` (ordered likeliest first) unless another is about as similar to `name`: then
    choosing would be a guess, and a person picks."""
    if not candidates:
        return None
    best = similarity(name, candidates[0])
    if any(best - similarity(name, other) <= AMBIGUOUS_WITHIN for other in candidates[1:]):
        return None
    return candidates[0]


def existing(facts: Facts, kind: str, namespace: str | None) -> list[str]:
    return facts.names(kind, None if kind == "StorageClass" else namespace)


def keys(obj: dict[str, Any] | None) -> set[str] | None:
    """The data keys an object shows (Secret values are never shown, their keys are), or None if it shows none."""
    if obj is None:
        return None
    found = {k for field in ("data", "stringData", "binaryData") for k in (obj.get(field) or {})}
    return found or None


def is_pull_secret(obj: dict[str, Any] | None) -> bool:
    return bool(obj) and obj.get("type") in _PULL_SECRET_TYPES


def variables(facts: Facts, namespace: str | None) -> dict[str, str]:
    """`missing_kind`, `missing_name` (ask for it: the answer lists what exists) and `existing` (the closest
    names that exist, comma-separated, for a step that reads each)."""
    found = missing_object(facts)
    if found is None:
        return {}
    kind, name = found
    out = {"missing_kind": kind, "missing_name": name}
    if names := closest(name, existing(facts, kind, namespace)):
        out["existing"] = ",".join(names)
    return out
