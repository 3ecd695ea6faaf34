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
from agents.toolsets.registry_tags import split_reference

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
            clues = (Clue.of(f"{image}: not found", "not found", image, call_id=call_id),)
            before = previous_image(facts, pod, name)
            if before:
                fix = FixDraft(f"{pods.container_path(pod, name)}.image", before,
                               f"roll back to {before}, the image the previous revision ran")
                escalate = None
            else:
                listed = registry_tags(facts, image)
                chosen = choose_tag(facts, image, listed[0]) if listed else None
                fix = FixDraft(f"{pods.container_path(pod, name)}.image", chosen[0] if chosen else None,
                               chosen[1] if chosen else "use a tag that exists in the registry")
                if chosen:
                    clues += (Clue.of(chosen[2], call_id=listed[1] if listed else None),)
                escalate = None if chosen else (
                    "no earlier revision ran another image of this container and the registry's tag list was not read, "
                    "so nothing shows a tag that exists; a human picks one" if not listed else
                    f"the registry lists no release tag to move to ({', '.join(listed[0][-8:])}); a human picks one")
            return Finding("image_pull", f"the image {image} of container {name} does not exist in the registry (tag not found).",
                           0.9, pods.ref(pod), clues, (fix,), escalate=escalate)
    return None


_RELEASE = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$")


def _parts(image: str) -> tuple[str, str, str]:
    """(`registry/path` as the registry tool names it, the reference without its tag, the tag or '')."""
    try:
        host, path, tag = split_reference(image)
    except ValueError:
        return image, image, ""
    name = image.split("@", 1)[0]
    return f"{host}/{path}", name[: len(name) - len(tag) - 1] if tag else name, tag or ""


def registry_tags(facts: Facts, image: str) -> tuple[list[str], str | None] | None:
    """The tags the registry lists for the image's repository, and the call that listed them."""
    key = _parts(image)[0]
    for (kind, _, name), seen in facts.objects.items():
        if kind == "ImageTags" and name == key:
            return list(seen.obj.get("tags") or []), seen.call_id
    return None


def choose_tag(facts: Facts, image: str, tags: list[str]) -> tuple[str, str, str] | None:
    """(new image, why, the listed tag to quote) from the registry's list: a tag another pod in the namespace
    runs for this repository, else the listed tag closest to the broken one's version, else the newest release."""
    repository, base, current = _parts(image)
    for other in facts.pods():
        for spec in pods.containers(other):
            ref = str(spec.get("image", ""))
            other_repository, _, tag = _parts(ref)
            if ref != image and other_repository == repository and tag in tags and pods.is_healthy(other):
                return f"{base}:{tag}", f"pod {pods.name(other)} runs {ref} healthily, and the registry lists {tag}", tag
    releases = sorted((tuple(int(g or 0) for g in m.groups()), t) for t in tags if (m := _RELEASE.match(t)))
    if not releases:
        return None
    if wanted := _RELEASE.match(current):
        major_minor = tuple(int(g or 0) for g in wanted.groups())[:2]
        same_line = [t for v, t in releases if v[:2] == major_minor]
        if same_line:
            return (f"{base}:{same_line[-1]}", f"{current} is not in the registry; {same_line[-1]} is the newest tag it "
                    f"lists on the same {major_minor[0]}.{major_minor[1]} line", same_line[-1])
    newest = releases[-1][1]
    return (f"{base}:{newest}", f"{current or 'the tag'} is not in the registry; {newest} is the newest release it lists "
            f"(of {len(tags)} tags)", newest)


def _pull_secret_for(facts: Facts, namespace: str | None, missing: list[str]) -> str | None:
    """The existing pull secret (type dockerconfigjson) the missing one most likely stands for: the closest name."""
    for name in missing:
        pull_secrets = [c for c in refs.closest(name, refs.existing(facts, "Secret", namespace))
                        if refs.is_pull_secret(facts.get("Secret", namespace, c))]
        if found := refs.unambiguous(name, pull_secrets):
            return found
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
