"""Checks for pods that are never created: ResourceQuota, admission webhooks, a missing ServiceAccount."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from agents.diagnosis import ResourceRef
from agents.rules.facts import Facts, Seen
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.quantity import parse_quantity
from agents.rules.registry import check
from agents.toolsets.kubernetes.owners import controller_ref

_QUOTA = re.compile(r"exceeded quota: ([\w.-]+), requested: ([^,]+(?:,[^,:]+=[^,]+)*), used: (\S+?), limited: (\S+)")
_MUST_SPECIFY = re.compile(r"failed quota: ([\w.-]+): must specify ([\w.,]+)")
_WEBHOOK = re.compile(r'failed calling webhook \\?"([^"\\]+)\\?"')
_SERVICE_ACCOUNT = re.compile(r'serviceaccount \\?"([^"\\]+)\\?" not found', re.I)


def _about_focus(facts: Facts, seen: Seen) -> bool:
    """Is this event about the workload the alert names (it, or one of its ReplicaSets)?"""
    involved = seen.obj.get("involvedObject", {}).get("name") or ""
    names = [facts.focus.get(k) for k in ("deployment", "statefulset", "daemonset", "job", "replicaset")]
    return any(n and (involved == n or involved.startswith(n + "-")) for n in names)


def _failed_creates(facts: Facts) -> Iterator[tuple[Seen, str]]:
    """(event, message) for every FailedCreate (the alerting workload's first: a fail-closed webhook or a full
    quota refuses every workload in the namespace), and ReplicaFailure conditions of observed workloads."""
    events = facts.events_for(reasons=("FailedCreate",))
    for seen in sorted(events, key=lambda seen: not _about_focus(facts, seen)):
        yield seen, seen.obj.get("message") or ""
    for kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        for key, seen in facts.objects.items():
            if key[0] != kind:
                continue
            for condition in seen.obj.get("status", {}).get("conditions") or []:
                if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
                    yield Seen({"involvedObject": {"kind": kind, "namespace": key[1], "name": key[2]}}, seen.call_id), \
                        condition.get("message") or ""


def _owner(event: dict[str, Any]) -> ResourceRef:
    involved = event.get("involvedObject", {})
    return ResourceRef(kind=involved.get("kind", "ReplicaSet"), namespace=involved.get("namespace"), name=involved.get("name", "?"))


def _pairs(text: str) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in text.split(",") if "=" in part)


def _pods_to_create(facts: Facts, owner: ResourceRef) -> tuple[int, int] | None:
    """(pods the workload still has to create, pods a rolling update adds on top), from the observed
    ReplicaSet (spec.replicas against status.replicas) and its Deployment's maxSurge (default 25 %, rounded
    up, as the Deployment controller does); None when the ReplicaSet was not observed."""
    rs = facts.get("ReplicaSet", owner.namespace, owner.name) if owner.kind == "ReplicaSet" else None
    if rs is None:
        return None
    desired = int((rs.get("spec") or {}).get("replicas", 1))
    missing = max(0, desired - int((rs.get("status") or {}).get("replicas") or 0))
    deployment_ref = controller_ref(rs)
    deployment = facts.get("Deployment", owner.namespace, deployment_ref["name"]) if deployment_ref else None
    strategy = ((deployment or {}).get("spec") or {}).get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return missing, 0
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    extra = math.ceil(desired * int(str(surge)[:-1]) / 100) if str(surge).endswith("%") else int(surge)
    return missing, extra


def _format_like(resource: str, amount: float) -> str:
    if "cpu" in resource:
        return f"{math.ceil(round(amount * 1000, 6))}m"
    if "memory" in resource or "storage" in resource:
        return f"{math.ceil(round(amount / 2**20, 6))}Mi"
    return str(math.ceil(amount))


def _quota_fix(facts: Facts, owner: ResourceRef, quota: ResourceRef, resource: str, used: str | None,
               requested: str | None) -> FixDraft:
    """The quota that lets the workload reach its replicas and roll out: what is used, plus one pod's request
    for each pod still to create and each pod a rolling update surges. No evidence, no value."""
    per_pod, in_use = parse_quantity(requested), parse_quantity(used)
    pods_needed = _pods_to_create(facts, owner)
    field = f'spec.hard["{resource}"]'
    if per_pod is None or in_use is None or pods_needed is None:
        return FixDraft(field, None, f"the workload's replica count was not observed; a person sizes {resource} "
                                     f"(used {used}, each pod requests {requested})", resource=quota)
    missing, surge = pods_needed
    value = _format_like(resource, in_use + per_pod * (missing + surge))
    return FixDraft(field, value, f"used {used}, plus {requested} for each of the {missing} pod(s) still to create "
                                  f"and the {surge} a rolling update adds (maxSurge)", resource=quota)


@check("quota_exceeded")
def quota_exceeded(facts: Facts) -> Finding | None:
    """FailedCreate `exceeded quota`: the namespace ResourceQuota is below what the workload requests."""
    for seen, message in _failed_creates(facts):
        match = _QUOTA.search(message)
        if not match:
            continue
        quota, requested, used, limited = match.group(1), _pairs(match.group(2)), _pairs(match.group(3)), _pairs(match.group(4))
        resource = next(iter(limited), next(iter(requested), "requests.cpu"))
        namespace = seen.obj.get("involvedObject", {}).get("namespace") or facts.focus.get("namespace")
        quota_ref = ResourceRef(kind="ResourceQuota", namespace=namespace, name=quota)
        cause = (f"ResourceQuota {quota} allows {resource}={limited.get(resource)}, already used {used.get(resource)}; "
                 f"a new pod requesting {requested.get(resource)} is rejected, so the workload cannot reach its replicas.")
        fix = _quota_fix(facts, _owner(seen.obj), quota_ref, resource, used.get(resource), requested.get(resource))
        return Finding("quota", cause, 0.92, _owner(seen.obj), (Clue.of(f"exceeded quota: {quota}", quota, call_id=seen.call_id),),
                       (fix,), related=(quota_ref,))
    for seen, message in _failed_creates(facts):
        if match := _MUST_SPECIFY.search(message):
            cause = f"ResourceQuota {match.group(1)} requires {match.group(2)} on every pod, and the workload sets none."
            return Finding("quota", cause, 0.88, _owner(seen.obj), (Clue.of(match.group(0), call_id=seen.call_id),),
                           (FixDraft(f"spec.containers[0].resources.{match.group(2).split(',')[0]}", None,
                                     "set the requests/limits the quota demands"),))
    return None


@check("admission_webhook_failed")
def admission_webhook_failed(facts: Facts) -> Finding | None:
    """FailedCreate because an admission webhook rejects pods or cannot be reached."""
    for seen, message in _failed_creates(facts):
        if match := _WEBHOOK.search(message) or re.search(r"admission webhook \\?\"([^\"\\]+)\\?\" denied", message):
            cause = f"admission webhook {match.group(1)} stops pod creation: {message.split('Error creating: ')[-1]}"
            return Finding("admission", cause, 0.85, _owner(seen.obj), (Clue.of(match.group(0), call_id=seen.call_id),),
                           escalate="the webhook belongs to the platform; restore its backend or change its failurePolicy with approval")
    return None


@check("service_account_missing")
def service_account_missing(facts: Facts) -> Finding | None:
    """FailedCreate because the pod template names a ServiceAccount that does not exist."""
    for seen, message in _failed_creates(facts):
        if match := _SERVICE_ACCOUNT.search(message):
            cause = f"the pod template uses ServiceAccount {match.group(1)}, which does not exist, so no pod is created."
            return Finding("missing_config", cause, 0.88, _owner(seen.obj), (Clue.of(match.group(0), call_id=seen.call_id),),
                           (FixDraft("spec.serviceAccountName", None, f"create ServiceAccount {match.group(1)} or use one that exists"),))
    return None
