"""What every derive step shares: the store, the scenario, the clock, the controller's memory, events.

Time. The store clock is wall time. The cluster is a *snapshot*: state that depends on elapsed time
(restart counts, back-off, event counts) is computed as of the moment its inputs last changed and is
then frozen, so reconcile() is idempotent however much wall time passes between calls. Objects seeded
from the scenario are dated `world.fault_age` before the seed; objects the controller creates later
are dated at the write that caused them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sim.derive.names import digest
from sim.derive.names import uid as make_uid
from sim.scenario import Scenario

Obj = dict[str, Any]

CLUSTER_SCOPED = {
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "IngressClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "CustomResourceDefinition",
    "PriorityClass",
    "ClusterIssuer",
    "NodeMetrics",
    "APIService",
    "CSIDriver",
    "RuntimeClass",
}


def fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String() for whole seconds: 10s, 1m20s, 5m0s, 1h0m0s."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


@dataclass
class PodMemory:
    """A pod's frozen timeline: which plan it follows, since when, observed when."""

    plan_key: str
    start: datetime
    observed: datetime
    base_restarts: dict[str, int] = field(default_factory=dict)
    base_events: dict[str, Obj] = field(default_factory=dict)
    last_events: dict[str, Obj] = field(default_factory=dict)
    last_restarts: dict[str, int] = field(default_factory=dict)


@dataclass
class Memory:
    """What the controller remembers between reconciles (never read back from the store)."""

    pods: dict[str, PodMemory] = field(default_factory=dict)
    logs: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    used_names: set[tuple[str, str]] = field(default_factory=set)
    blocked: dict[str, tuple[str, datetime, datetime]] = field(default_factory=dict)
    progress: dict[str, Any] = field(default_factory=dict)
    usage: dict[tuple[str, str], dict[str, tuple[int, int]]] = field(default_factory=dict)
    observed: dict[str, datetime] = field(default_factory=dict)
    created: int = 0


def assign_uid(obj: Obj, scenario: str, memory: Memory) -> None:
    """A deterministic uid for objects the simulator creates, so the same scenario has the same uids."""
    meta = obj.setdefault("metadata", {})
    if not meta.get("uid"):
        memory.created += 1
        seed = f"{scenario}/{obj.get('kind')}/{meta.get('namespace')}/{meta.get('name')}/{memory.created}"
        meta["uid"] = make_uid(seed)


class Cluster:
    """One reconcile pass."""

    def __init__(self, store: Any, scenario: Scenario, memory: Memory, *, seeding: bool) -> None:
        self.store = store
        self.scenario = scenario
        self.memory = memory
        self.now: datetime = store.now().replace(microsecond=0)
        self.fault_start = self.now - timedelta(seconds=scenario.world.fault_age)
        # Controllers act "when the fault began" while seeding, "now" after a later write.
        self.action_time = self.fault_start if seeding else self.now
        self.seeding = seeding
        self.changed = False

    # -- store shortcuts -----------------------------------------------------------------------
    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        return self.store.get(kind, namespace, name)

    def list(self, kind: str, namespace: str | None = None) -> list[Obj]:
        return self.store.list(kind, namespace)

    def save(self, obj: Obj) -> Obj:
        before = (obj.get("metadata") or {}).get("resourceVersion")
        saved = self.store.put(obj)
        if saved["metadata"].get("resourceVersion") != before:
            self.changed = True
        return saved

    def create(self, obj: Obj) -> Obj:
        self.changed = True
        assign_uid(obj, self.scenario.name, self.memory)
        return self.store.create(obj)

    def delete(self, kind: str, namespace: str | None, name: str) -> None:
        if self.store.delete(kind, namespace, name) is not None:
            self.changed = True

    def owned(self, kind: str, owner: Obj) -> list[Obj]:
        uid = owner["metadata"].get("uid")
        ns = owner["metadata"].get("namespace")
        return [
            o
            for o in self.list(kind, ns)
            if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or [])
        ]

    # -- events --------------------------------------------------------------------------------
    def event(
        self,
        involved: Obj,
        reason: str,
        message: str,
        *,
        type_: str = "Normal",
        component: str,
        host: str | None = None,
        field_path: str | None = None,
        count: int | None = None,
        first: datetime | None = None,
        last: datetime | None = None,
    ) -> None:
        """Upsert one aggregated Event. count=None records an action: a new event or count+1."""
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        key = digest(f"{meta.get('uid')}|{reason}|{message}|{field_path}|{component}", 16)
        name = f"{meta['name']}.{key}"
        existing = self.get("Event", namespace, name)
        if count is None:
            moment = self.action_time
            count = (existing or {}).get("count", 0) + 1
            first = parse_time((existing or {}).get("firstTimestamp")) or moment
            last = moment
        first = first or self.action_time
        last = last or first
        involved_ref: Obj = {
            "kind": involved.get("kind"),
            "namespace": meta.get("namespace"),
            "name": meta["name"],
            "uid": meta.get("uid"),
            "apiVersion": involved.get("apiVersion"),
        }
        if field_path:
            involved_ref["fieldPath"] = field_path
        involved_ref = {k: v for k, v in involved_ref.items() if v is not None}
        source: Obj = {"component": component}
        if host:
            source["host"] = host
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": fmt(first)},
            "involvedObject": involved_ref,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": fmt(first),
            "lastTimestamp": fmt(last),
            "count": count,
            "type": type_,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host or "",
        }
        if existing is not None:
            event["metadata"] = {**existing["metadata"], "name": name, "namespace": namespace}
        self.save(event)
