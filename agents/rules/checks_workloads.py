"""Checks on workload controllers themselves: Jobs out of retries, HPAs that cannot scale."""

from __future__ import annotations

import re
from typing import Any

from agents.diagnosis import ResourceRef
from agents.rules import pods
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.quantity import format_mebibytes, parse_quantity, request_with_headroom
from agents.rules.registry import check

_MISSING_REQUEST = re.compile(r"missing request for (\w+)(?: in container ([\w-]+))?")


def _ref(obj: dict[str, Any]) -> ResourceRef:
    return ResourceRef(kind=obj["kind"], namespace=obj["metadata"].get("namespace"), name=obj["metadata"]["name"])


def _condition(obj: dict[str, Any], type_: str, status: str) -> dict[str, Any] | None:
    return next((c for c in obj.get("status", {}).get("conditions") or []
                 if c.get("type") == type_ and c.get("status") == status), None)


def _pod_level_failures(pod: dict[str, Any]) -> set[str]:
    """What stopped the pod short of its command's own exit: an init container's failure, or a container
    that never ran (its start, its image, its config) or was killed by the kernel."""
    found = set()
    mains = {s.get("name") for s in pods.statuses(pod, init=False)}
    for status in pods.statuses(pod):
        if (reason := pods.waiting(status).get("reason")) not in (None, "PodInitializing", "ContainerCreating"):
            found.add(reason)
        for terminated in pods.terminations(status):
            if status.get("name") not in mains and terminated.get("exitCode") not in (0, None):
                found.add(f"init container {status.get('name')} {terminated.get('reason', 'Error')}")
            elif terminated.get("reason") in ("StartError", "OOMKilled", "ContainerCannotRun"):
                found.add(str(terminated["reason"]))
    return found


@check("job_backoff_limit")
def job_backoff_limit(facts: Facts) -> Finding | None:
    """A Job failed (BackoffLimitExceeded / DeadlineExceeded); quote what its pods logged."""
    for job in facts.all("Job", facts.focus.get("namespace")):
        failed = _condition(job, "Failed", "True")
        if failed is None:
            continue
        name = job["metadata"]["name"]
        job_pods = [p for p in facts.pods() if (pods.owner(p) or {}).get("name") == name]
        said = next((line.strip() for p in job_pods for log in facts.logs_for(pods.name(p))
                     for line in reversed(log.text.splitlines()) if line.strip()), None)
        cause = f"Job {name} failed ({failed.get('reason')}: {failed.get('message', '')})" + (f"; its pods log: {said}" if said else ".")
        clues = (Clue.of(failed.get("reason"), call_id=facts.source("Job", job["metadata"].get("namespace"), name)),)
        # Pods that failed before their command could do its work (an init container, a container that could
        # not start, was OOM-killed or lacks its config) carry the cause: the pod checks name it, not this one.
        pod_level = sorted({reason for p in job_pods for reason in _pod_level_failures(p)})
        if pod_level:
            return Finding("job_failed", cause + f" Its pods failed with {', '.join(pod_level)}: that is the cause.",
                           0.45, _ref(job), clues, escalate="the Job failed because its pods did; the pod-level "
                           "cause decides the fix")
        return Finding("job_failed", cause, 0.8 if said else 0.65, _ref(job), clues + ((Clue.of(said),) if said else ()),
                       escalate=("the Job's pods log why they fail, but what the command should do (a URL, a script) is "
                                 "the author's intent, and a Job's template is immutable (it is recreated); a human "
                                 "corrects it") if said else "the Job's pods left no log saying why they failed")
    return None


def _observed_usage(facts: Facts, target: ResourceRef, container: str, resource: str) -> tuple[float, str, str | None] | None:
    """The most `resource` a container of the target's pods is measured to use: (amount, as shown, call)."""
    found = []
    for (kind, namespace, name), seen in facts.objects.items():
        if kind != "PodMetrics" or namespace != target.namespace or not name.startswith(f"{target.name}-"):
            continue
        for entry in seen.obj.get("containers") or []:
            shown = (entry.get("usage") or {}).get(resource)
            if entry.get("name") == container and (amount := parse_quantity(shown)):
                # As `kubectl top` (and get_resource_usage) prints it, so the evidence quotes the output.
                found.append((amount, f"{round(amount * 1000)}m" if resource == "cpu" else format_mebibytes(amount),
                              seen.call_id))
    return max(found, key=lambda item: item[0]) if found else None


@check("hpa_cannot_scale")
def hpa_cannot_scale(facts: Facts) -> Finding | None:
    """An HPA condition is False: missing CPU requests, missing scale target, failed metrics."""
    for hpa in facts.all("HorizontalPodAutoscaler", facts.focus.get("namespace")):
        bad = _condition(hpa, "ScalingActive", "False") or _condition(hpa, "AbleToScale", "False")
        if bad is None:
            continue
        message = bad.get("message") or bad.get("reason", "")
        target = hpa.get("spec", {}).get("scaleTargetRef", {})
        target_ref = ResourceRef(kind=target.get("kind", "Deployment"), namespace=hpa["metadata"].get("namespace"),
                                 name=target.get("name", "?"))
        fixes: tuple[FixDraft, ...] = ()
        clues = [Clue.of(message, bad.get("reason"),
                         call_id=facts.source("HorizontalPodAutoscaler", hpa["metadata"].get("namespace"), hpa["metadata"]["name"]))]
        if match := _MISSING_REQUEST.search(message):
            resource, container = match.group(1), match.group(2) or "?"
            used = _observed_usage(facts, target_ref, container, resource)
            value, why = None, (f"utilization scaling needs a {resource} request to divide by; no usage of container "
                                f"{container} was measured (metrics API), so a person sizes it")
            if used is not None:
                value = request_with_headroom(used[0], resource)
                why = (f"utilization scaling needs a {resource} request to divide by; container {container} uses "
                       f"{used[1]} (metrics API): that plus 25 % headroom")
                clues.append(Clue.of(used[1], call_id=used[2]))
            fixes = (FixDraft(f"spec.template.spec.containers[name={container}].resources.requests.{resource}", value,
                              why, resource=target_ref),)
        cause = f"HPA {hpa['metadata']['name']} cannot scale {target.get('kind')}/{target.get('name')}: {message}"
        return Finding("autoscaling", cause, 0.85, _ref(hpa), tuple(clues), fixes, related=(target_ref,))
    return None
