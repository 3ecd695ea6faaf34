"""Creating pods for a controller: defaulting as the API server does, and admission (SA, quota, webhooks).

`create_pod` returns the stored pod, or the `Error creating: ...` text the owning controller reports
as a FailedCreate event when admission refuses the pod.
"""

from __future__ import annotations

from typing import Any

from sim.derive.context import Cluster, Obj, fmt
from sim.admission import rejection
from sim.defaulting import default_pod_spec
from sim.derive.names import suffix, uid
from sim.derive.scheduling import container_requests
from sim.quantity import QuantityError, format_bytes, format_millicores, to_bytes, to_millicores

def next_name(cluster: Cluster, namespace: str, prefix: str) -> str:
    """A fresh `<prefix>-<5 chars>` name; the k-th name for a prefix is always the same."""
    for k in range(10_000):
        name = f"{prefix}-{suffix(f'{namespace}/{prefix}/{k}')}"
        if (namespace, name) not in cluster.memory.used_names and cluster.get("Pod", namespace, name) is None:
            return name
    raise RuntimeError(f"no free pod name for {prefix}")  # pragma: no cover


def _quota_error(cluster: Cluster, namespace: str, pod_name: str, spec: Obj) -> str | None:
    quotas = cluster.list("ResourceQuota", namespace)
    if not quotas:
        return None
    active = [p for p in cluster.list("Pod", namespace)
              if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
              and not p["metadata"].get("deletionTimestamp")]
    for quota in quotas:
        hard = (quota.get("spec") or {}).get("hard") or {}
        want = _pod_usage(spec)
        missing = [r for r in sorted(hard) if r in _COMPUTE and not _specifies(spec, r)]
        if missing:
            return f'pods "{pod_name}" is forbidden: failed quota: {quota["metadata"]["name"]}: must specify {",".join(missing)}'
        used: dict[str, int] = {}
        for p in active:
            for r, v in _pod_usage(p["spec"]).items():
                used[r] = used.get(r, 0) + v
        over = []
        for resource, limit in sorted(hard.items()):
            if resource not in want:
                continue
            try:
                limit_value = _amount(resource, limit)
            except QuantityError:
                continue
            if used.get(resource, 0) + want[resource] > limit_value:
                over.append(resource)
        if over:
            fmt_ = lambda r, v: f"{r}={_format(r, v)}"
            return (
                f'pods "{pod_name}" is forbidden: exceeded quota: {quota["metadata"]["name"]}, '
                f"requested: {','.join(fmt_(r, want[r]) for r in over)}, "
                f"used: {','.join(fmt_(r, used.get(r, 0)) for r in over)}, "
                f"limited: {','.join(fmt_(r, _amount(r, hard[r])) for r in over)}"
            )
    return None


_COMPUTE = {"requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory"}


def _specifies(spec: Obj, resource: str) -> bool:
    section, _, name = resource.rpartition(".")
    section = section or "requests"
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        if name not in (res.get(section) or {}) and not (section == "requests" and name in (res.get("limits") or {})):
            return False
    return True


def _pod_usage(spec: Obj) -> dict[str, int]:
    usage = {"pods": 1, "count/pods": 1}
    for c in spec.get("containers") or []:
        cpu, memory = container_requests(c)
        limits = (c.get("resources") or {}).get("limits") or {}
        for key, value in (("requests.cpu", cpu), ("cpu", cpu), ("requests.memory", memory), ("memory", memory)):
            usage[key] = usage.get(key, 0) + value
        try:
            usage["limits.cpu"] = usage.get("limits.cpu", 0) + (to_millicores(limits["cpu"]) if "cpu" in limits else 0)
            usage["limits.memory"] = usage.get("limits.memory", 0) + (to_bytes(limits["memory"]) if "memory" in limits else 0)
        except QuantityError:
            pass
    return usage


def _amount(resource: str, value: Any) -> int:
    if resource.endswith("cpu"):
        return to_millicores(value)
    if resource.endswith("memory") or "storage" in resource:
        return to_bytes(value)
    return int(to_bytes(value))


def _format(resource: str, value: int) -> str:
    if resource.endswith("cpu"):
        return format_millicores(value)
    if resource.endswith("memory"):
        return format_bytes(value)
    return str(value)


def quota_usage(cluster: Cluster, quota: Obj) -> dict[str, str]:
    namespace = quota["metadata"].get("namespace")
    hard = (quota.get("spec") or {}).get("hard") or {}
    used: dict[str, int] = {r: 0 for r in hard}
    for p in cluster.list("Pod", namespace):
        if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for r, v in _pod_usage(p["spec"]).items():
            if r in used:
                used[r] += v
    return {r: _format(r, v) for r, v in used.items()}


def _webhook_error(cluster: Cluster, namespace: str, pod_name: str, spec: Obj, labels: dict[str, str]) -> str | None:
    pod = {"metadata": {"name": pod_name, "namespace": namespace, "labels": labels}, "spec": spec}
    return rejection(cluster, "CREATE", "", "v1", "pods", namespace, pod)


def admit(cluster: Cluster, namespace: str, pod_name: str, spec: Obj, labels: dict[str, str] | None = None) -> str | None:
    """The `Error creating: ...` message if admission refuses the pod."""
    sa = spec.get("serviceAccountName") or "default"
    if cluster.get("ServiceAccount", namespace, sa) is None:
        return (f'pods "{pod_name}" is forbidden: error looking up service account {namespace}/{sa}: '
                f'serviceaccount "{sa}" not found')
    return _quota_error(cluster, namespace, pod_name, spec) or _webhook_error(cluster, namespace, pod_name, spec,
                                                                              labels or {})


def create_pod(cluster: Cluster, owner: Obj, template: Obj, name: str, labels: dict[str, str],
               extra_spec: Obj | None = None, created: Any = None) -> Obj | str:
    namespace = owner["metadata"].get("namespace") or "default"
    spec = default_pod_spec({**(template.get("spec") or {}), **(extra_spec or {})}, namespace, name)
    refused = admit(cluster, namespace, name, spec, {**((template.get("metadata") or {}).get("labels") or {}), **labels})
    if refused:
        return f"Error creating: {refused}"
    tmeta = template.get("metadata") or {}
    serial = sum(1 for ns, n in cluster.memory.used_names if ns == namespace and n == name)
    cluster.memory.used_names.add((namespace, name))
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid(f"{cluster.scenario.name}/{namespace}/{name}/{serial}/{len(cluster.memory.used_names)}"),
            "labels": {**(tmeta.get("labels") or {}), **labels},
            "creationTimestamp": fmt(created or cluster.action_time),
            "ownerReferences": [{
                "apiVersion": owner.get("apiVersion"),
                "kind": owner.get("kind"),
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"].get("uid"),
                "controller": True,
                "blockOwnerDeletion": True,
            }],
        },
        "spec": spec,
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }
    if tmeta.get("annotations"):
        pod["metadata"]["annotations"] = dict(tmeta["annotations"])
    return cluster.create(pod)
