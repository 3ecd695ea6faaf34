"""The object store behind the simulated API server: plain Kubernetes-shaped dicts plus a watch log.

Objects are keyed by (kind, namespace or None, name). Every write takes one global, monotonically
increasing resourceVersion, as etcd's revision does, so a watch can resume "after N" across kinds.
Watch delivery is a bounded history of events plus a condition variable: a watcher keeps a cursor
and waits for the log to grow past it. A cursor that has fallen out of the history is "too old",
which the server turns into the real 410 Gone.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Obj = dict[str, Any]
Key = tuple[str, str | None, str]
EventType = Literal["ADDED", "MODIFIED", "DELETED"]

# Fields that say nothing about the object's content, so a put that differs only in them is a no-op.
_VOLATILE_METADATA = ("resourceVersion", "managedFields")


class AlreadyExists(Exception):
    """create() found an object with the same (kind, namespace, name)."""

    def __init__(self, kind: str, namespace: str | None, name: str) -> None:
        super().__init__(f"{kind} {namespace + '/' if namespace else ''}{name} already exists")
        self.kind, self.namespace, self.name = kind, namespace, name


class ResourceVersionTooOld(Exception):
    """A watch asked for history the store no longer keeps."""


@dataclass(frozen=True)
class WatchEvent:
    """One change, with the object before (None for ADDED) and after (the deleted object for DELETED)."""

    type: EventType
    kind: str
    resource_version: int
    object: Obj
    old: Obj | None


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z and whole seconds, as Kubernetes writes metav1.Time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_key(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind", "")), meta.get("namespace") or None, str(meta.get("name", "")))


def _content(obj: Obj) -> Obj:
    """The object without the fields a write stamps on it, for no-op detection."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    return {**obj, "metadata": meta}


def _spec_part(obj: Obj) -> Obj:
    """Everything that counts towards metadata.generation: all but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class ObjectStore:
    """Thread-safe store of Kubernetes objects; reads return deep copies so callers cannot alias it."""

    def __init__(self, clock: Callable[[], datetime] | None = None, history: int = 2000) -> None:
        # One RLock for everything: the server holds it across a write and the reconcile that follows,
        # and the controller re-enters it through the same public methods.
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self._objects: dict[str, dict[tuple[str | None, str], Obj]] = {}
        self._clock = clock or (lambda: datetime.now(UTC))
        self._revision = 0
        self._history: deque[WatchEvent] = deque(maxlen=history)
        self._closed = False

    # -- reads ---------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self._clock()

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        with self.lock:
            found = self._objects.get(kind, {}).get((namespace or None, name))
            return copy.deepcopy(found) if found is not None else None

    def list(self, kind: str, namespace: str | None = None) -> list[Obj]:
        with self.lock:
            items = [
                obj
                for (ns, _), obj in self._objects.get(kind, {}).items()
                if namespace is None or ns == namespace
            ]
            items.sort(key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]))
            return copy.deepcopy(items)

    def kinds(self) -> list[str]:
        """Every kind that currently has objects, for garbage collection and namespace deletion."""
        with self.lock:
            return sorted(kind for kind, objs in self._objects.items() if objs)

    @property
    def resource_version(self) -> int:
        """The revision of the last write: what a list reports as metadata.resourceVersion."""
        with self.lock:
            return self._revision

    # -- writes --------------------------------------------------------------------------------
    def create(self, obj: Obj) -> Obj:
        with self.lock:
            kind, namespace, name = object_key(obj)
            if (namespace, name) in self._objects.get(kind, {}):
                raise AlreadyExists(kind, namespace, name)
            return self._insert(obj, None)

    def put(self, obj: Obj) -> Obj:
        """Upsert. Unchanged content is a no-op (no new resourceVersion, no watch event), as in Kubernetes."""
        with self.lock:
            kind, namespace, name = object_key(obj)
            old = self._objects.get(kind, {}).get((namespace, name))
            return self._insert(obj, old)

    def delete(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        with self.lock:
            old = self._objects.get(kind, {}).pop((namespace or None, name), None)
            if old is None:
                return None
            self._revision += 1
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self._revision)
            self._emit("DELETED", kind, gone, old)
            return copy.deepcopy(gone)

    def _insert(self, obj: Obj, old: Obj | None) -> Obj:
        new = copy.deepcopy(obj)
        meta = new.setdefault("metadata", {})
        if old is None:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", format_time(self.now()))
            meta.setdefault("generation", 1)
        else:
            old_meta = old["metadata"]
            # A put is an update: identity and birth time belong to the stored object.
            meta["uid"] = old_meta.get("uid")
            meta["creationTimestamp"] = old_meta.get("creationTimestamp")
            generation = int(old_meta.get("generation", 1))
            meta["generation"] = generation + 1 if _spec_part(new) != _spec_part(old) else generation
            if _content(new) == _content(old):
                return copy.deepcopy(old)
        self._revision += 1
        meta["resourceVersion"] = str(self._revision)
        kind, namespace, name = object_key(new)
        self._objects.setdefault(kind, {})[(namespace, name)] = new
        self._emit("ADDED" if old is None else "MODIFIED", kind, new, old)
        return copy.deepcopy(new)

    def _emit(self, type_: EventType, kind: str, obj: Obj, old: Obj | None) -> None:
        # Stored objects are replaced, never mutated in place, so the history can share them.
        self._history.append(WatchEvent(type_, kind, self._revision, obj, old))
        self._changed.notify_all()

    # -- watching ------------------------------------------------------------------------------
    def events_after(self, revision: int) -> list[WatchEvent]:
        """Events with resourceVersion > revision; raises ResourceVersionTooOld if some were dropped."""
        with self.lock:
            if revision >= self._revision:
                return []
            oldest = self._history[0].resource_version if self._history else self._revision + 1
            if revision < oldest - 1:
                raise ResourceVersionTooOld(f"too old resource version: {revision} ({oldest - 1})")
            return [e for e in self._history if e.resource_version > revision]

    def wait_for_change(self, revision: int, timeout: float) -> bool:
        """Block until the store moves past `revision`, the timeout passes or close() is called."""
        with self.lock:
            if self._revision <= revision and not self._closed:
                self._changed.wait(timeout)
            return self._revision > revision

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Wake every watcher so streams end when the server stops."""
        with self.lock:
            self._closed = True
            self._changed.notify_all()
