"""Hand-written Kubernetes objects for check table tests, shaped as the API serves them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.rules.facts import Facts, LogText

Obj = dict[str, Any]


def pod(name: str = "web-7f9c-abcde", *, ns: str = "shop", containers: list[Obj] | None = None,
        statuses: list[Obj] | None = None, phase: str = "Running", conditions: list[Obj] | None = None,
        labels: dict[str, str] | None = None, owner: str = "ReplicaSet/web-7f9c", **spec: Any) -> Obj:
    kind, owner_name = owner.split("/")
    return {"kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels or {"app": "web"},
                                        "ownerReferences": [{"kind": kind, "name": owner_name, "controller": True}]},
            "spec": {"containers": containers or [container()], **spec},
            "status": {"phase": phase, "conditions": conditions or [], "containerStatuses": statuses or []}}


def container(name: str = "web", image: str = "nginx:1.27", **fields: Any) -> Obj:
    return {"name": name, "image": image, **fields}


def status(name: str = "web", *, waiting: Obj | None = None, last: Obj | None = None, terminated: Obj | None = None,
           ready: bool = False, restarts: int = 0) -> Obj:
    state = {"waiting": waiting} if waiting else {"terminated": terminated} if terminated else {"running": {}}
    return {"name": name, "state": state, "lastState": {"terminated": last} if last else {}, "ready": ready,
            "restartCount": restarts}


def event(reason: str, message: str, *, kind: str = "Pod", name: str = "web-7f9c-abcde", ns: str = "shop",
          type_: str = "Warning", field_path: str | None = None) -> Obj:
    involved = {"kind": kind, "name": name, "namespace": ns, **({"fieldPath": field_path} if field_path else {})}
    return {"kind": "Event", "type": type_, "reason": reason, "message": message, "involvedObject": involved}


def obj(kind: str, name: str, *, ns: str | None = "shop", spec: Obj | None = None, status: Obj | None = None,
        **top: Any) -> Obj:
    meta = {"name": name, **({"namespace": ns} if ns else {}), **top.pop("meta", {})}
    return {"kind": kind, "metadata": meta, "spec": spec or {}, "status": status or {}, **top}


def log(text: str, *, pod_name: str = "web-7f9c-abcde", container_name: str = "web", previous: bool = True) -> LogText:
    return LogText("shop", pod_name, container_name, previous, text, "c-log")


@dataclass(frozen=True)
class Case:
    id: str
    check: str
    facts: Facts
    category: str | None = None  # None: the check must find nothing
    subject: str | None = None  # "Kind/name"
    says: str | None = None  # a phrase the root cause must contain
    fix: tuple[str, Any] | None = None  # (field path, new value) of the first fix


def facts(*objects: Obj, logs: list[LogText] | None = None, **focus: str) -> Facts:
    return Facts.of(*objects, logs=logs or [], focus={"namespace": "shop", **focus})
