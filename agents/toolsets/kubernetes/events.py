"""Events: by object, by namespace, since a time; newest last, Warning reasons first-class."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import Field

from agents.safety.validation import KindName, Namespace, ObjectName, ToolParams
from agents.toolsets.base import ToolEnv, ToolOutput, ToolStatus
from agents.toolsets.kubernetes.kinds import resolve_kind
from agents.toolsets.kubernetes.reader import cluster_reader, event_time
from agents.toolsets.kubernetes.render import event_age, event_data, parse_time, table
from agents.toolsets.kubernetes.toolset import KUBERNETES


class GetEventsParams(ToolParams):
    namespace: Namespace | None = Field(None, description="Namespace; omit for all namespaces.")
    kind: KindName | None = Field(None, description="Only events about objects of this kind, e.g. Pod.")
    name: ObjectName | None = Field(None, description="Only events about the object with this name.")
    since_minutes: int | None = Field(None, ge=1, le=10080, description="Only events seen in the last N minutes.")
    type: Literal["Warning", "Normal", "all"] = Field("all", description="Warning events are the faults.")
    limit: int = Field(100, ge=1, le=500, description="Newest N events.")


@KUBERNETES.tool(params=GetEventsParams, output_cap=6000, transformers=("redact", "truncate_tail"))
def get_events(env: ToolEnv, p: GetEventsParams) -> ToolOutput:
    """Events (LAST SEEN, TYPE, REASON, OBJECT, COUNT, MESSAGE), newest last: FailedScheduling, BackOff,
    FailedMount, Unhealthy, FailedCreate, ProvisioningFailed... Filter by object (kind + name), namespace,
    type and time window."""
    selectors = []
    if p.kind:
        selectors.append(f"involvedObject.kind={resolve_kind(p.kind).kind}")
    if p.name:
        selectors.append(f"involvedObject.name={p.name}")
    events = cluster_reader(env).list("Event", p.namespace, field_selector=",".join(selectors) or None)
    if p.type != "all":
        events = [e for e in events if e.get("type") == p.type]
    if p.since_minutes:
        cutoff = datetime.now(UTC) - timedelta(minutes=p.since_minutes)
        events = [e for e in events if (parse_time(event_time(e)) or cutoff) >= cutoff]
    events = sorted(events, key=event_time)[-p.limit:]
    if not events:
        return ToolOutput("", [], ToolStatus.NO_DATA, "no events match"
                          + "".join(f" {k}={v}" for k, v in p.model_dump(exclude_none=True).items() if k != "limit"))
    rows = []
    for event in events:
        obj = event.get("involvedObject", {})
        rows.append([event_age(event), event.get("type", ""), event.get("reason", ""),
                     ("" if p.namespace else f"{obj.get('namespace') or '-'}/") + f"{obj.get('kind', '').lower()}/{obj.get('name')}",
                     " ".join(str(event.get("message", "")).split())])
    text = table(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], rows)
    return ToolOutput(text, [event_data(e) for e in events])
