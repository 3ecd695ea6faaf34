"""Checks for probes that test the wrong thing: a path that 404s, a port nothing listens on, a timeout."""

from __future__ import annotations

import re
from typing import Any

from agents.rules import pods
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.registry import check

_PROBE = re.compile(r"(Readiness|Liveness|Startup) probe failed: (.*)", re.S)
_STATUS = re.compile(r"statuscode: (\d+)")
_REFUSED = re.compile(r"connect: connection refused|no route to host|dial tcp [^ ]+:(\d+)")
_TIMEOUT = re.compile(r"(?i)context deadline exceeded|timeout|timed out")


def _declared_ports(container: dict[str, Any]) -> list[Any]:
    return [p.get("containerPort") for p in container.get("ports") or [] if p.get("containerPort")]


def _container_of(pod: dict[str, Any], event: dict[str, Any]) -> str:
    owner = re.search(r"\{(.+)\}", event.get("involvedObject", {}).get("fieldPath") or "")
    if owner:
        return owner.group(1)
    unready = [s["name"] for s in pods.statuses(pod, init=False) if not s.get("ready")]
    return unready[0] if unready else (pods.containers(pod) or [{"name": ""}])[0]["name"]


def _serving_path(facts: Facts, pod: dict[str, Any], container: str, probe_key: str, port: Any) -> str | None:
    """A path the app is seen to serve: another HTTP probe of the same container on the same port that passes
    (no Unhealthy event of its kind for this pod)."""
    failing = {m.group(1).lower() for seen in facts.events_for("Pod", pods.name(pod), reasons=("Unhealthy",))
               if (m := _PROBE.search(seen.obj.get("message") or ""))}
    spec = pods.container(pod, container)
    for other in ("livenessProbe", "readinessProbe", "startupProbe"):
        http = (spec.get(other) or {}).get("httpGet") or {}
        if other != probe_key and http.get("path") and http.get("port") == port \
                and other.removesuffix("Probe") not in failing:
            return str(http["path"])
    return None


def _fix(facts: Facts, pod: dict[str, Any], container: str, probe_key: str, detail: str) -> tuple[str, FixDraft | None]:
    spec = pods.container(pod, container)
    probe = spec.get(probe_key) or {}
    http = probe.get("httpGet") or {}
    base = f"{pods.container_path(pod, container)}.{probe_key}"
    if status := _STATUS.search(detail):
        path = http.get("path", "/")
        serving = _serving_path(facts, pod, container, probe_key, http.get("port"))
        why = (f"{path} does not exist in the app; its {serving} answers (another probe of the container passes there)"
               if serving else f"{path} does not exist in the app; nothing in the cluster shows a path it serves, so the "
                               "owner names one (a health endpoint; `/` is a candidate for a web server)")
        return (f"the {probe_key} path {path} answers HTTP {status.group(1)}",
                FixDraft(f"{base}.httpGet.path", serving, why))
    if _REFUSED.search(detail):
        port = http.get("port") or (probe.get("tcpSocket") or {}).get("port")
        declared = [p for p in _declared_ports(spec) if p != port]
        field = "httpGet.port" if http else "tcpSocket.port"
        return (f"the {probe_key} checks port {port}, where nothing listens",
                FixDraft(f"{base}.{field}", declared[0] if declared else None,
                         "probe the port the container declares" if declared else "probe the port the app listens on"))
    if _TIMEOUT.search(detail):
        timeout = int(probe.get("timeoutSeconds") or 1)
        # How long the endpoint takes is not in the events (only that it took longer than the timeout): a
        # person who knows the endpoint picks the value.
        return (f"the {probe_key} times out after {timeout}s",
                FixDraft(f"{base}.timeoutSeconds", None, f"the endpoint answers slower than the probe's {timeout}s; how "
                         "much slower is not observed, so its owner sets the timeout (or fixes the endpoint)"))
    return f"the {probe_key} fails: {detail.strip()}", None


@check("probe_failing")
def probe_failing(facts: Facts) -> Finding | None:
    """Unhealthy events: a readiness/liveness/startup probe fails against a running container."""
    for pod in facts.pods():
        for seen in facts.events_for("Pod", pods.name(pod), reasons=("Unhealthy",)):
            message = seen.obj.get("message") or ""
            match = _PROBE.search(message)
            if not match:
                continue
            container = _container_of(pod, seen.obj)
            probe_key = f"{match.group(1).lower()}Probe"
            said, fix = _fix(facts, pod, container, probe_key, match.group(2))
            effect = "restarts it" if probe_key == "livenessProbe" else "keeps it out of its Service's endpoints"
            cause = f"{said} for container {container}, which {effect}."
            first_line = message.splitlines()[0].strip()
            return Finding("probe_failure", cause, 0.88 if fix and fix.new_value is not None else 0.75, pods.ref(pod),
                           (Clue.of(first_line, f"{match.group(1)} probe failed", call_id=seen.call_id),),
                           (fix,) if fix else ())
    return None
