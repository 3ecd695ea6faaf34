"""Checks on nodes: NotReady/Unknown and pressure conditions. No workload is at fault: escalate."""

from __future__ import annotations

from typing import Any

from agents.diagnosis import ResourceRef
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding
from agents.rules.registry import check

_PRESSURE = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")


def _nodes(facts: Facts) -> list[dict[str, Any]]:
    focus = facts.focus.get("node")
    return sorted(facts.all("Node"), key=lambda node: node["metadata"]["name"] != focus)


def _condition(node: dict[str, Any], type_: str) -> dict[str, Any] | None:
    return next((c for c in node.get("status", {}).get("conditions") or [] if c.get("type") == type_), None)


def _ref(node: dict[str, Any]) -> ResourceRef:
    return ResourceRef(kind="Node", name=node["metadata"]["name"])


@check("node_not_ready")
def node_not_ready(facts: Facts) -> Finding | None:
    """The node's Ready condition is False or Unknown (kubelet stopped, runtime down)."""
    for node in _nodes(facts):
        ready = _condition(node, "Ready")
        if ready is None or ready.get("status") == "True":
            continue
        name = node["metadata"]["name"]
        said = ready.get("message") or ready.get("reason") or "not ready"
        cause = f"node {name} is NotReady (Ready={ready.get('status')}, {ready.get('reason')}: {said}); the node itself failed."
        return Finding("node_failure", cause, 0.9, _ref(node),
                       (Clue.of(said, ready.get("reason"), call_id=facts.source("Node", None, name)),),
                       escalate=f"node {name} needs an operator (node runbook); no GitOps change fixes it")
    return None


@check("node_pressure")
def node_pressure(facts: Facts) -> Finding | None:
    """The node reports memory, disk or PID pressure."""
    for node in _nodes(facts):
        for type_ in _PRESSURE:
            condition = _condition(node, type_)
            if condition is None or condition.get("status") != "True":
                continue
            name = node["metadata"]["name"]
            cause = f"node {name} has {type_} ({condition.get('reason')}: {condition.get('message', '')})."
            return Finding("node_failure", cause, 0.8, _ref(node),
                           (Clue.of(condition.get("message"), type_, call_id=facts.source("Node", None, name)),),
                           escalate=f"node {name} is under {type_}; drain or resize it, or find the pod that eats it")
    return None
