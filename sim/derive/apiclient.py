"""A process talking to the Kubernetes API with its pod's ServiceAccount token, as in-cluster clients do.

Each of the behaviour's `api_requests` is authorized by the RBAC model (sim.rbac) as the user
`system:serviceaccount:<ns>:<sa>`; the first one refused is logged with the apiserver's Forbidden text
(`pods is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "pods" in API group "" in
the namespace "ns"`), and the process exits with `exit_code` (client-go based tools typically exit on a
failed initial list), so a fix to a Role shows as a new, healthy run.
"""

from __future__ import annotations

from typing import Any

from sim.derive.context import Cluster, Obj
from sim.rbac import Request, User, authorize, forbidden_message


def forbidden(cluster: Cluster, pod: Obj, requests: list[Any]) -> tuple[Any, str] | None:
    """(request, apiserver error text) for the first of `requests` RBAC refuses, or None."""
    namespace = pod["metadata"].get("namespace") or "default"
    sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    if (pod.get("spec") or {}).get("automountServiceAccountToken") is False:
        user = User("system:anonymous", ("system:unauthenticated",))
    else:
        user = User.service_account(namespace, sa)
    for req in requests:
        resource, _, sub = req.resource.partition("/")
        target = namespace if req.namespace is None else (req.namespace or None)
        wanted = Request(req.verb, resource, req.group, target, None, sub or None)
        if not authorize(cluster, user, wanted).allowed:
            return req, forbidden_message(user, wanted)
    return None


def refusal(cluster: Cluster, pod: Obj, requests: list[Any]) -> tuple[str, int | None] | None:
    """(log line, exit code) for the process whose API request is refused, else None."""
    found = forbidden(cluster, pod, requests)
    if found is None:
        return None
    req, error = found
    line = req.log.format(verb=req.verb, resource=req.resource, error=error.replace('"', '\\"'))
    return line, req.exit_code


def refuse(cluster: Cluster, pod: Obj, requests: list[Any], plan: Any, logs: list[str]) -> bool:
    """The kubelet's hook: when a request is refused, log it; True when the process exits on it (plan filled)."""
    found = refusal(cluster, pod, requests) if requests else None
    if found is None:
        return False
    line, code = found
    if code is None:
        logs.append(line)
        return False
    plan.logs, plan.exit_code, plan.exit_reason = [*logs, line], code, "Completed" if code == 0 else "Error"
    return True
