"""Text rendering shared by the kubernetes tools: ages, aligned tables, events, pod status.

The text is what a model and the rule engine read, so it follows `kubectl`'s wording (CrashLoopBackOff,
OOMKilled, Exit Code: 137) rather than inventing new words for the same facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from agents.toolsets.kubernetes.owners import controller_ref

Obj = dict[str, Any]


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(value: str | None, now: datetime | None = None) -> str:
    """"45s", "12m", "3h", "2d" like kubectl's AGE column; "<unknown>" without a time."""
    when = parse_time(value)
    if when is None:
        return "<unknown>"
    seconds = max(0, int(((now or datetime.now(UTC)) - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns padded to their widest cell, like `kubectl get`."""
    cells = [list(headers)] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells)


def labels(mapping: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((mapping or {}).items())) or "<none>"


def event_age(event: Obj) -> str:
    count = event.get("count") or 1
    last = event.get("lastTimestamp") or event.get("eventTime")
    first = event.get("firstTimestamp")
    if count > 1 and first:
        return f"{age(last)} (x{count} over {age(first)})"
    return age(last or first)


def event_row(event: Obj) -> list[str]:
    source = event.get("source", {}).get("component") or event.get("reportingComponent") or ""
    return [event.get("type", ""), event.get("reason", ""), event_age(event), source,
            " ".join(str(event.get("message", "")).split())]


def events_block(events: Sequence[Obj]) -> str:
    """kubectl describe's Events section (oldest first, so the newest is last)."""
    if not events:
        return "Events:  <none>"
    body = table(["Type", "Reason", "Age", "From", "Message"], [event_row(e) for e in events])
    return "Events:\n" + "\n".join("  " + line for line in body.splitlines())


def event_data(event: Obj) -> Obj:
    involved = event.get("involvedObject", {})
    return {"type": event.get("type"), "reason": event.get("reason"), "message": event.get("message"),
            "count": event.get("count") or 1, "firstTimestamp": event.get("firstTimestamp"),
            "lastTimestamp": event.get("lastTimestamp") or event.get("eventTime"),
            "source": event.get("source", {}).get("component"),
            "object": {"kind": involved.get("kind"), "namespace": involved.get("namespace"),
                       "name": involved.get("name"), "fieldPath": involved.get("fieldPath")}}


def conditions_block(conditions: Sequence[Obj] | None, title: str = "Conditions") -> str:
    if not conditions:
        return f"{title}:  <none>"
    rows = [[c.get("type", ""), c.get("status", ""), c.get("reason", ""), " ".join(str(c.get("message", "")).split())]
            for c in conditions]
    return f"{title}:\n" + "\n".join("  " + line for line in table(["Type", "Status", "Reason", "Message"],
                                                                    rows).splitlines())


def pod_status(pod: Obj) -> str:
    """The STATUS column of `kubectl get pods`: a waiting/terminated reason wins over the phase."""
    status = pod.get("status", {})
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return "Terminating"
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        state = cs.get("state", {})
        if "terminated" in state and state["terminated"].get("exitCode") == 0:
            continue
        if "waiting" in state and state["waiting"].get("reason") not in (None, "PodInitializing"):
            return f"Init:{state['waiting']['reason']}"
        if "terminated" in state:
            return f"Init:{state['terminated'].get('reason') or 'Error'}"
        return f"Init:{i}/{len(pod.get('spec', {}).get('initContainers') or [])}"
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state", {})
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
    return reason


def pod_ready(pod: Obj) -> str:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    total = len(pod.get("spec", {}).get("containers") or [])
    return f"{sum(1 for c in statuses if c.get('ready'))}/{total}"


def pod_restarts(pod: Obj) -> int:
    return sum(c.get("restartCount", 0) for c in pod.get("status", {}).get("containerStatuses") or [])


def owner(obj: Obj) -> str | None:
    ref = controller_ref(obj)
    return f"{ref['kind']}/{ref['name']}" if ref else None


def header(obj: Obj, extra: Sequence[tuple[str, Any]] = ()) -> list[str]:
    """Name, Namespace, Labels, Annotations (then `extra`) as kubectl describe starts."""
    meta = obj.get("metadata", {})
    notes = {k: v for k, v in (meta.get("annotations") or {}).items()
             if k != "kubectl.kubernetes.io/last-applied-configuration"}
    fields = [("Name", meta.get("name")), ("Namespace", meta.get("namespace")),
              ("Labels", labels(meta.get("labels"))), ("Annotations", labels(notes)),
              ("Created", f"{meta.get('creationTimestamp')} ({age(meta.get('creationTimestamp'))} ago)"), *extra]
    return [f"{k + ':':<17}{v}" for k, v in fields if v not in (None, "")]


def quantities(mapping: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((mapping or {}).items())) or "<none>"


def probe(spec: Obj | None) -> str | None:
    if not spec:
        return None
    if "httpGet" in spec:
        get = spec["httpGet"]
        what = f"http-get {get.get('scheme', 'HTTP').lower()}://:{get.get('port')}{get.get('path', '/')}"
    elif "tcpSocket" in spec:
        what = f"tcp-socket :{spec['tcpSocket'].get('port')}"
    elif "exec" in spec:
        what = "exec " + " ".join(spec["exec"].get("command") or [])
    elif "grpc" in spec:
        what = f"grpc :{spec['grpc'].get('port')}"
    else:
        what = "<unknown>"
    return (f"{what} delay={spec.get('initialDelaySeconds', 0)}s timeout={spec.get('timeoutSeconds', 1)}s "
            f"period={spec.get('periodSeconds', 10)}s #success={spec.get('successThreshold', 1)} "
            f"#failure={spec.get('failureThreshold', 3)}")
