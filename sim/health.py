"""Is a namespace healthy? What a person checks after a fix lands: every pod Ready, every Deployment
rolled out and available, every selecting Service with ready endpoints, PVCs bound."""

from __future__ import annotations

from typing import Any

from sim.store import ObjectStore


def _ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod["status"].get("conditions") or [])


def _owner(store: ObjectStore, obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    ref = next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("kind") == kind), None)
    return store.get(kind, obj["metadata"].get("namespace"), ref["name"]) if ref else None


def superseded(store: ObjectStore, pod: dict[str, Any]) -> bool:
    """Is this the pod of a CronJob's earlier Job that a newer Job has followed? Its failure is history the
    CronJob keeps (failedJobsHistoryLimit), not the state of the CronJob now."""
    job = _owner(store, pod, "Job")
    cronjob = _owner(store, job, "CronJob") if job is not None else None
    if job is None or cronjob is None:
        return False
    created = job["metadata"].get("creationTimestamp") or ""
    return any(other["metadata"]["name"] != job["metadata"]["name"]
               and (other["metadata"].get("creationTimestamp") or "") > created
               and (_owner(store, other, "CronJob") or {}).get("metadata", {}).get("name") == cronjob["metadata"]["name"]
               for other in store.list("Job", job["metadata"].get("namespace")))


def namespace_problems(store: ObjectStore, namespace: str | None) -> list[str]:
    """One sentence per thing that is not healthy; empty when all is well."""
    problems = []
    for pod in store.list("Pod", namespace):
        if pod["status"].get("phase") != "Succeeded" and not _ready(pod) and not superseded(store, pod):
            problems.append(f"pod {pod['metadata']['name']} is not Ready ({pod['status'].get('phase')})")
    for dep in store.list("Deployment", namespace):
        status, want = dep.get("status") or {}, dep["spec"].get("replicas", 1)
        if not status.get("readyReplicas", 0) == status.get("updatedReplicas", 0) == want:
            problems.append(f"deployment {dep['metadata']['name']}: {status.get('readyReplicas', 0)}/{want} ready")
    for svc in store.list("Service", namespace):
        if svc["spec"].get("selector"):
            endpoints = store.get("Endpoints", svc["metadata"]["namespace"], svc["metadata"]["name"]) or {}
            subsets = endpoints.get("subsets") or []
            if not subsets or any(s.get("notReadyAddresses") or not s.get("addresses") for s in subsets):
                problems.append(f"service {svc['metadata']['name']} has no ready endpoints")
    for pvc in store.list("PersistentVolumeClaim", namespace):
        if (pvc.get("status") or {}).get("phase") != "Bound":
            problems.append(f"pvc {pvc['metadata']['name']} is {(pvc.get('status') or {}).get('phase')}")
    return problems


def warning_counts(store: ObjectStore) -> dict[str, int]:
    """Warning events by name with their counts: a fix must add none and repeat none."""
    return {e["metadata"]["name"]: int(e.get("count") or 1) for e in store.list("Event") if e.get("type") == "Warning"}


def failing_requests(store: ObjectStore, read_log: Any, namespace: str | None) -> list[str]:
    """Requests that running clients in the namespace still see failing (the traffic model's log lines, read
    from each ready container's current log)."""
    failing = []
    for pod in store.list("Pod", namespace):
        if pod["status"].get("phase") != "Running":
            continue
        meta = pod["metadata"]
        for container in pod["spec"].get("containers") or []:
            try:
                text = read_log(meta["namespace"], meta["name"], container["name"], False)
            except Exception:  # a container that is waiting has no current log to read
                continue
            failing.extend(f"{meta['name']}: {line}" for line in text.splitlines() if "upstream request failed" in line)
    return failing
