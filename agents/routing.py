"""Where the supervisor sends a run. Alerts are routed by rule (no model call is worth spending on
a decision the incident already states); chat turns are routed by intent."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from agents.diagnosis import Diagnosis

Route = Literal["diagnostics", "remediation", "human_help", "report"]


class RouteDecision(BaseModel):
    route: Route
    reason: str


def route_incident(incident: dict[str, object]) -> RouteDecision:
    if incident.get("alerts"):
        return RouteDecision(route="diagnostics", reason="an alert fired: find its root cause")
    if incident.get("namespace") or incident.get("resource"):
        return RouteDecision(route="diagnostics", reason="asked to check a namespace or resource")
    return RouteDecision(route="human_help", reason="nothing to diagnose: no alert, namespace or resource")


def route_after_diagnosis(diagnosis: Diagnosis, available: frozenset[str]) -> RouteDecision:
    """Fixable faults go to remediation, uncertain or unfixable ones to a person; a subgraph that is
    not available yet ends the run with the report (and the escalation, when there is one)."""
    if diagnosis.needs_human:
        route: Route = "human_help"
        reason = diagnosis.reason_for_human or "the diagnosis needs a person"
    elif diagnosis.category == "healthy":
        route, reason = "report", "nothing is broken"
    elif diagnosis.suggested_fixes:
        route, reason = "remediation", "a manifest change fixes this"
    else:
        route, reason = "human_help", "no manifest change fixes this"
    if route != "report" and route not in available:
        return RouteDecision(route="report", reason=f"{reason} ({route} is not available yet)")
    return RouteDecision(route=route, reason=reason)
