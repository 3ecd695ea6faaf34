"""Reading a pod as the checks need it: container states, specs, reasons, readiness, references."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agents.diagnosis import ResourceRef
from agents.rules.facts import Facts
from agents.toolsets.kubernetes.owners import controller_ref


def ref(pod: dict[str, Any]) -> ResourceRef:
    meta = pod["metadata"]
    return ResourceRef(kind=pod.get("kind", "Pod"), namespace=meta.get("namespace"), name=meta["name"])


def name(pod: dict[str, Any]) -> str:
    return pod["metadata"]["name"]


def statuses(pod: dict[str, Any], *, init: bool = True) -> list[dict[str, Any]]:
    status = pod.get("status", {})
    found = list(status.get("containerStatuses") or [])
    return found + list(status.get("initContainerStatuses") or []) if init else found


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod.get("spec", {})
    return list(spec.get("containers") or []) + list(spec.get("initContainers") or [])


def container(pod: dict[str, Any], container_name: str) -> dict[str, Any]:
    return next((c for c in containers(pod) if c.get("name") == container_name), {})


def container_path(pod: dict[str, Any], container_name: str) -> str:
    """`spec.containers[name=x]` (or initContainers) for a container of this pod."""
    init = any(c.get("name") == container_name for c in pod.get("spec", {}).get("initContainers") or [])
    return f"spec.{'initContainers' if init else 'containers'}[name={container_name}]"


def terminations(status: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The container's current and last termination records, newest first."""
    for holder in (status.get("state"), status.get("lastState")):
        terminated = (holder or {}).get("terminated")
        if terminated:
            yield terminated


def waiting(status: dict[str, Any]) -> dict[str, Any]:
    return (status.get("state") or {}).get("waiting") or {}


def reasons(pod: dict[str, Any], facts: Facts | None = None) -> set[str]:
    """Every reason the pod shows: phase, waiting/terminated reasons, conditions, its events."""
    status = pod.get("status", {})
    found = {status.get("phase"), status.get("reason")}
    mains = {s.get("name") for s in statuses(pod, init=False)}
    for container_status in statuses(pod):
        found.add(waiting(container_status).get("reason"))
        # An init container that ran to completion did its job: its "Completed" is no symptom.
        found.update(t.get("reason") for t in terminations(container_status)
                     if container_status.get("name") in mains or t.get("exitCode") not in (0, None))
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True":
            found.add(condition.get("reason"))
    if facts is not None:
        found.update(seen.obj.get("reason") for seen in facts.events_for("Pod", name(pod))
                     if seen.obj.get("type") == "Warning")
    return {reason for reason in found if reason}


def is_healthy(pod: dict[str, Any]) -> bool:
    """Running and Ready (or finished successfully), with no container waiting."""
    status = pod.get("status", {})
    if status.get("phase") == "Succeeded":
        return True
    if status.get("phase") != "Running" or any(waiting(s) for s in statuses(pod)):
        return False
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    return ready is None or ready.get("status") == "True"


def unhealthy_pods(facts: Facts) -> list[dict[str, Any]]:
    return [pod for pod in facts.pods() if not is_healthy(pod)]


def owner(pod: dict[str, Any]) -> dict[str, Any] | None:
    return controller_ref(pod)
