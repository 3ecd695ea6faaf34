"""The incident API: list, read (alerts, diagnosis, plan, PR, timeline), cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from app.api.auth import require_api_token
from app.api.deps import Incidents
from app.incidents.priority import label
from app.incidents.status import IncidentStatus
from app.incidents.store import IncidentFilter

router = APIRouter(prefix="/incidents", tags=["incidents"], dependencies=[Depends(require_api_token)])


class ResourceOut(BaseModel):
    kind: str
    name: str


class IncidentSummaryOut(BaseModel):
    id: int
    thread_id: str = Field(description="The LangGraph thread that works on the incident.")
    title: str
    cluster: str
    namespace: str | None
    resource: ResourceOut | None
    family: str
    severity: str | None
    priority: Literal["P0", "P1", "P2", "P3"]
    status: IncidentStatus
    status_reason: str | None = Field(description="Why it is in this status, e.g. why it failed.")
    created_at: datetime
    updated_at: datetime
    last_alert_at: datetime
    closed_at: datetime | None


class AlertOut(BaseModel):
    fingerprint: str
    alertname: str
    status: Literal["firing", "resolved"]
    source: str
    starts_at: datetime
    ends_at: datetime | None
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str | None


class TimelineEventOut(BaseModel):
    at: datetime
    kind: str
    actor: str
    message: str
    data: dict[str, Any]


class IncidentOut(IncidentSummaryOut):
    alerts: list[AlertOut]
    diagnosis: dict[str, Any] | None
    plan: dict[str, Any] | None
    pr: dict[str, Any] | None
    timeline: list[TimelineEventOut]
    feedback: dict[str, int] = Field(default_factory=lambda: {"up": 0, "down": 0},
                                     description="👍/👎 counts (the votes and comments: GET /incidents/{id}/feedback)")


class IncidentPageOut(BaseModel):
    items: list[IncidentSummaryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null at the end.")


class CancelIn(BaseModel):
    reason: str | None = Field(None, max_length=500)


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    resource = ({"kind": row["resource_kind"], "name": row["resource_name"]}
                if row["resource_kind"] and row["resource_name"] else None)
    return {**row, "thread_id": str(row["id"]), "resource": resource, "priority": label(row["priority"])}


@router.get("", response_model=IncidentPageOut)
async def list_incidents(
    incidents: Incidents,
    status: IncidentStatus | None = None,
    cluster: str | None = None,
    namespace: str | None = None,
    priority: Annotated[Literal["P0", "P1", "P2", "P3"] | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="Only incidents opened at or after this time.")] = None,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$",
                                        description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> IncidentPageOut:
    """Newest first, keyset-paginated so pages stay stable while incidents keep arriving."""
    rows = await incidents.list(IncidentFilter(
        status=status.value if status else None, cluster=cluster, namespace=namespace,
        priority=int(priority[1]) if priority else None, since=since,
        before_id=int(cursor) if cursor else None, limit=limit + 1,
    ))
    more = len(rows) > limit
    rows = rows[:limit]
    return IncidentPageOut(items=[IncidentSummaryOut.model_validate(_summary(r)) for r in rows],
                           next_cursor=str(rows[-1]["id"]) if more and rows else None)


@router.get("/{incident_id}", response_model=IncidentOut)
async def get_incident(incident_id: int, incidents: Incidents) -> IncidentOut:
    return IncidentOut.model_validate(_summary(await incidents.get(incident_id)))


@router.post("/{incident_id}/cancel", response_model=IncidentOut)
async def cancel_incident(incident_id: int, incidents: Incidents, body: CancelIn | None = None) -> IncidentOut:
    """Stop work on the incident; 409 when it already ended."""
    await incidents.cancel(incident_id, actor="api", reason=body.reason if body else None)
    return IncidentOut.model_validate(_summary(await incidents.get(incident_id)))
