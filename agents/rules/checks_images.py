"""Checks for images that cannot be pulled: a tag that does not exist vs missing pull credentials."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from agents.rules import pods, refs
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.registry import check
from agents.rules.workloads import previous_image

_PULL_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
_AUTH = re.compile(r"(?i)pull access denied|unauthorized|authorization failed|insufficient_scope|"
                   r"no basic auth credentials|denied: requested access|unable to retrieve some image pull secrets")
_NOT_FOUND = re.compile(r"(?i)\bnot found\b|manifest unknown|code = NotFound|name unknown")
_IMAGE = re.compile(r'(?:pull|pulling) image \\?"([^"\\]+)\\?"', re.I)
_PULL = re.compile(r"(?i)\bpull|image pull secrets|InvalidImageName|ErrImage")
_SECRETS = re.compile(r"image pull secrets \(([^)]+)\)")


def _pull_failures(facts: Facts, pod: dict[str, Any]) -> Iterator[tuple[str, str, str | None]]:
    """(container, message, call) for each pull failure the pod shows, events first (they say why)."""
    stuck = {s["name"]: s for s in pods.statuses(pod) if pods.waiting(s).get("reason") in _PULL_REASONS}
    events = [seen for seen in facts.events_for("Pod", pods.name(pod),
                                                reasons=("Failed", "FailedToRetrieveImagePullSecret", "ErrImagePull"))
              if _PULL.search(seen.obj.get("message") or "")]
    if not stuck and not events:
        return
    for seen in events:
        message = seen.obj.get("message") or ""
        image = _IMAGE.search(message)
        owner = next((s for s in stuck.values() if image and s.get("image") == image.group(1)), None)
        yield (owner or next(iter(stuck.values()), {"name": ""}))["name"], message, seen.call_id
    source = facts.source("Pod", pod["metadata"].get("namespace"), pods.name(pod))
    for name, status in stuck.items():
        yield name, pods.waiting(status).get("message") or pods.waiting(status).get("reason", ""), source


@check("image_tag_not_found")
def image_tag_not_found(facts: Facts) -> Finding | None:
    """The registry answers NotFound for the image reference: the tag (or repository) does not exist."""
    for pod in facts.pods():
        for name, message, call_id in _pull_failures(facts, pod):
            if not _NOT_FOUND.search(message) or _AUTH.search(message):
                continue
            image = pods.container(pod, name).get("image", "?")
            before = previous_image(facts, pod, name)
            fix = FixDraft(f"{pods.container_path(pod, name)}.image", before,
                           f"roll back to {before}, the image the previous revision ran" if before
                           else "use a tag that exists in the registry (the last good release)")
            return Finding("image_pull", f"the image {image} of container {name} does not exist in the registry (tag not found).",
                           0.9, pods.ref(pod), (Clue.of(f"{image}: not found", "not found", image, call_id=call_id),), (fix,),
                           escalate=None if before else "no earlier revision ran another image of this container, so the "
                           "cluster does not show a tag known to work; a human picks an existing release tag")
    return None


def _pull_secret_for(facts: Facts, namespace: str | None, missing: list[str]) -> str | None:
    """The existing pull secret (type dockerconfigjson) the missing one most likely stands for: the closest name."""
    for name in missing:
        for candidate in refs.closest(name, refs.existing(facts, "Secret", namespace)):
            if refs.is_pull_secret(facts.get("Secret", namespace, candidate)):
                return candidate
    return None


@check("image_pull_auth")
def image_pull_auth(facts: Facts) -> Finding | None:
    """The registry refuses the pull: the pull secret is missing or lacks access."""
    for pod in facts.pods():
        for name, message, call_id in _pull_failures(facts, pod):
            if not _AUTH.search(message):
                continue
            image = pods.container(pod, name).get("image", "?")
            secrets = next((m for text, _ in refs.pod_messages(facts, pod) if (m := _SECRETS.search(text))), None) \
                or _SECRETS.search(message)
            namespace = pod["metadata"].get("namespace")
            declared = [s.get("name") for s in pod.get("spec", {}).get("imagePullSecrets") or []]
            missing = [n.strip() for n in secrets.group(1).split(",")] if secrets else []
            if secrets:
                cause = f"the pull secret(s) {secrets.group(1)} for image {image} do not exist in the namespace."
            else:
                cause = f"the registry refuses to pull {image} (authorization failed)" + (
                    f"; the pod uses pull secret(s) {', '.join(declared)}." if declared else " and the pod names no imagePullSecrets.")
            replacement = _pull_secret_for(facts, namespace, missing)
            if replacement:
                kept = [n for n in declared if n not in missing]
                cause += f" Secret {replacement} in {namespace} is a registry pull secret (type dockerconfigjson)."
                fix = FixDraft("spec.imagePullSecrets", [{"name": n} for n in [*kept, replacement]],
                               f"reference the existing pull secret {replacement} instead of {', '.join(missing)}")
            else:
                fix = FixDraft("spec.imagePullSecrets", None,
                               "create the pull secret in this namespace (e.g. an ExternalSecret of type dockerconfigjson), "
                               "or reference one that exists")
            clues = (Clue.of(secrets.group(0) if secrets else None, "pull access denied", "authorization failed",
                             "unauthorized", call_id=call_id),)
            if replacement:
                clues += (Clue.of("dockerconfigjson", call_id=facts.source("Secret", namespace, replacement)),)
            return Finding("image_pull", cause, 0.85, pods.ref(pod), clues, (fix,))
    return None


@check("image_pull_other")
def image_pull_other(facts: Facts) -> Finding | None:
    """A pull failure neither check above explains: say so, with lower confidence."""
    for pod in facts.pods():
        for name, message, call_id in _pull_failures(facts, pod):
            image = pods.container(pod, name).get("image", "?")
            return Finding("image_pull", f"image {image} of container {name} cannot be pulled: {message}", 0.6, pods.ref(pod),
                           (Clue.of(message, "ImagePullBackOff", "ErrImagePull", call_id=call_id),))
    return None
