"""Checks for a pod securityContext that conflicts with its image (runAsNonRoot with a root image)."""

from __future__ import annotations

import re

from agents.rules import pods
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.registry import check

_NON_ROOT = re.compile(r"container has runAsNonRoot and image will run as root|"
                       r"runAsNonRoot and image has non-numeric user|container's runAsUser breaks non-root policy")
_CONTAINER = re.compile(r"container: ([\w-]+)\)")


@check("run_as_non_root")
def run_as_non_root(facts: Facts) -> Finding | None:
    """CreateContainerConfigError: runAsNonRoot is set but the image runs as root (or a non-numeric user)."""
    for pod in facts.pods():
        messages = [(pods.waiting(s).get("message") or "", s["name"], facts.source("Pod", pod["metadata"].get("namespace"),
                                                                                      pods.name(pod)))
                    for s in pods.statuses(pod)]
        messages += [(seen.obj.get("message") or "", "", seen.call_id)
                     for seen in facts.events_for("Pod", pods.name(pod), reasons=("Failed",))]
        for message, container, call_id in messages:
            match = _NON_ROOT.search(message)
            if not match:
                continue
            named = _CONTAINER.search(message)
            container = container or (named.group(1) if named else pods.containers(pod)[0]["name"])
            image = pods.container(pod, container).get("image", "?")
            cause = (f"container {container} sets runAsNonRoot, but image {image} runs as root, so the kubelet "
                     "refuses to start it (CreateContainerConfigError).")
            fix = FixDraft(f"{pods.container_path(pod, container)}.securityContext.runAsUser", None,
                           "run as the non-root UID the image ships (see its Dockerfile USER), or build the image "
                           "with a non-root USER; keep runAsNonRoot")
            return Finding("security_context", cause, 0.9, pods.ref(pod), (Clue.of(match.group(0), call_id=call_id),), (fix,),
                           escalate="the cluster does not show which non-root UID the image ships (the image's USER is "
                                    "root); a human sets runAsUser to the image's app user or rebuilds the image with one")
    return None
