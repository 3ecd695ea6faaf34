"""Observed facts: what the tool calls of one run have shown, each remembering the call it came from.

Checks read `Facts` and nothing else, so a check is a pure function that a table test can feed
with hand-written objects (`Facts.of(...)`), and the engine can point evidence at the right call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from agents.rules.shapes import objects as tool_objects
from agents.toolsets.kubernetes import DESCRIBE_TOOLS

Key = tuple[str, str | None, str]

# The kind a tool's output holds when the objects in it do not say so themselves.
TOOL_KINDS: dict[str, str] = {
    **{tool: kind for kind, tool in DESCRIBE_TOOLS.items()},
    "list_pods": "Pod", "get_endpoints": "Service", "get_events": "Event", "get_resource_usage": "PodMetrics",
}
# "configmap 'x' not found in namespace 'y' (configmaps there: a, b)" / "storageclass 'x' not found (storageclasses: a)":
# the executor's hallucination guard names what does exist, which is how the rules list a kind's objects.
_LISTED = re.compile(r"not found(?: in namespace '([^']+)')? \(\w+(?: there)?: ([^)]*)\)")
# Tools that show a summary row of an object: what they say never overrides what a describe said.
SUMMARY_TOOLS = frozenset({"list_pods", "list_workloads", "get_endpoints"})


class ToolOutput(Protocol):
    """What the facts need of a ToolResult (agents/toolsets)."""

    call_id: str
    tool: str
    args: dict[str, Any]
    status: Any
    text: str
    data: Any
    message: str


@dataclass(frozen=True)
class Seen:
    obj: dict[str, Any]
    call_id: str
    summary: bool = False


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`, nested dicts merged; empty values in `over` do not erase `base`."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif value not in (None, [], {}, "") or key not in out:
            out[key] = value
    return out


@dataclass(frozen=True)
class LogText:
    namespace: str | None
    pod: str
    container: str | None
    previous: bool
    text: str
    call_id: str


@dataclass
class Facts:
    objects: dict[Key, Seen] = field(default_factory=dict)
    events: list[Seen] = field(default_factory=list)
    logs: list[LogText] = field(default_factory=list)
    now: datetime | None = None
    # What the incident points at (namespace, pod, container, service, node, pvc, workload...).
    focus: dict[str, str] = field(default_factory=dict)
    # Objects a tool reported as not found: (kind, namespace, name) -> the call that said so.
    missing: dict[Key, str] = field(default_factory=dict)
    # Names of a kind that exist, as a not-found answer listed them: (kind, namespace) -> (names, call).
    listed: dict[tuple[str, str | None], tuple[list[str], str]] = field(default_factory=dict)

    @classmethod
    def of(cls, *objects: dict[str, Any], logs: Iterable[LogText] = (), call_id: str = "c1",
           now: datetime | None = None, focus: dict[str, str] | None = None) -> Facts:
        """Facts from hand-written objects (table tests)."""
        facts = cls(now=now, focus=dict(focus or {}))
        for obj in objects:
            facts.add(obj.get("kind") or ("Event" if "involvedObject" in obj else "?"), obj, call_id)
        facts.logs.extend(logs)
        return facts

    def add(self, kind: str, obj: dict[str, Any], call_id: str, *, summary: bool = False) -> None:
        """Remember an object; a summary (a list row) only fills gaps in what a describe showed."""
        if kind == "Event":
            if not any(seen.obj == obj for seen in self.events):
                self.events.append(Seen(obj, call_id))
            return
        obj = {**obj, "kind": kind}
        meta = obj["metadata"]
        key = (kind, meta.get("namespace"), meta["name"])
        previous = self.objects.get(key)
        if previous is None:
            self.objects[key] = Seen(obj, call_id, summary)
        elif summary and not previous.summary:
            self.objects[key] = Seen(_merge(obj, previous.obj), previous.call_id, False)
        else:
            self.objects[key] = Seen(_merge(previous.obj, obj), call_id, summary and previous.summary)

    # -- reading -------------------------------------------------------------------------------

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        seen = self.objects.get((kind, namespace, name)) or self.objects.get((kind, None, name))
        return seen.obj if seen else None

    def source(self, kind: str, namespace: str | None, name: str) -> str | None:
        seen = self.objects.get((kind, namespace, name)) or self.objects.get((kind, None, name))
        return seen.call_id if seen else None

    def all(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [seen.obj for (k, ns, _), seen in sorted(self.objects.items(), key=lambda item: str(item[0]))
                if k == kind and (namespace is None or ns in (namespace, None))]

    def pods(self) -> list[dict[str, Any]]:
        """Observed pods in the focus namespace, the focus pod first."""
        pods = self.all("Pod", self.focus.get("namespace"))
        return sorted(pods, key=lambda pod: pod["metadata"]["name"] != self.focus.get("pod"))

    def names(self, kind: str, namespace: str | None = None) -> list[str]:
        """Every name of `kind` known to exist: objects seen, and names a not-found answer listed."""
        found = [obj["metadata"]["name"] for obj in self.all(kind, namespace)]
        for (k, ns), (names, _) in self.listed.items():
            if k == kind and (namespace is None or ns in (namespace, None)):
                found += [n for n in names if n not in found]
        return found

    def events_for(self, kind: str | None = None, name: str | None = None,
                   reasons: Iterable[str] | None = None) -> list[Seen]:
        wanted = set(reasons) if reasons is not None else None
        out = []
        for seen in self.events:
            involved = seen.obj.get("involvedObject", {})
            if kind and involved.get("kind") != kind:
                continue
            if name and involved.get("name") != name:
                continue
            if wanted is not None and seen.obj.get("reason") not in wanted:
                continue
            out.append(seen)
        return out

    def logs_for(self, pod: str, container: str | None = None) -> list[LogText]:
        """Previous-container logs first: they hold the lines the crash printed."""
        found = [log for log in self.logs if log.pod == pod and (container is None or log.container in (container, None))]
        return sorted(found, key=lambda log: not log.previous)


def absorb(facts: Facts, result: ToolOutput) -> None:
    """Add what one ToolResult shows. Errors and refusals add nothing (the run records them)."""
    status = str(getattr(result.status, "value", result.status))
    kind = TOOL_KINDS.get(result.tool) or result.args.get("kind")
    name = result.args.get("name") or result.args.get("pod")
    if status == "error" and kind and name and "not found" in f"{result.message} {result.text}".lower():
        facts.missing[(kind, result.args.get("namespace"), str(name))] = result.call_id
        if listed := _LISTED.search(result.message or ""):
            names = [n.strip() for n in listed.group(2).split(",") if n.strip() and n.strip() != "..."]
            facts.listed[(kind, listed.group(1))] = (names, result.call_id)
    if status != "ok":
        return
    if result.tool == "get_logs":
        args = result.args
        facts.logs.append(LogText(args.get("namespace"), str(args.get("pod") or args.get("name") or ""),
                                  args.get("container"), bool(args.get("previous")), result.text, result.call_id))
        return
    for kind, obj in tool_objects(result.tool, result.data, result.args):
        facts.add(kind, obj, result.call_id, summary=result.tool in SUMMARY_TOOLS)
