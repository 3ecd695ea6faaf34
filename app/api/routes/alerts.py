"""POST /webhooks/alertmanager: Alertmanager's v4 webhook in, incidents and queued work out.

The answer (202) comes only after the raw payload, its alerts, the incidents and the work items
are committed in one transaction; a database outage answers 503 so Alertmanager retries.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.api.auth import require_webhook_token
from app.api.deps import Classifier, Incidents, SettingsDep
from app.api.errors import EmptyDelivery, PayloadTooLarge
from app.incidents.alerts import AlertBatch

router = APIRouter(prefix="/webhooks", tags=["alerts"], dependencies=[Depends(require_webhook_token)])


class AlertmanagerAlert(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(None, alias="endsAt")
    generator_url: str = Field("", alias="generatorURL")
    fingerprint: str = Field(min_length=1, max_length=128)

    @field_validator("labels")
    @classmethod
    def _has_alertname(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("labels must include a non-empty alertname")
        return labels


class AlertmanagerPayload(BaseModel):
    """Alertmanager's webhook body, version 4 (docs: prometheus.io, webhook_config)."""

    model_config = ConfigDict(populate_by_name=True)

    version: Literal["4"]
    receiver: str
    status: Literal["firing", "resolved"]
    alerts: list[AlertmanagerAlert]
    group_key: str = Field(alias="groupKey")
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field("", alias="externalURL")
    truncated_alerts: int = Field(0, ge=0, alias="truncatedAlerts")


class AlertsAcceptedOut(BaseModel):
    incident_ids: list[int] = Field(description="Every incident the delivery's alerts belong to.")
    opened: list[int] = Field(description="Incidents this delivery opened.")
    alerts: int
    new_alerts: int = Field(description="Alerts not seen before (0 for a redelivery).")
    duplicate: bool = Field(description="The same payload was accepted before.")


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` bytes (Content-Length may lie or be absent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"payload of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"payload is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/alertmanager",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AlertsAcceptedOut,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"title": "AlertmanagerPayload", "type": "object",
                   "description": "Alertmanager webhook payload, version 4"}}}}},
)
async def receive_alertmanager(request: Request, settings: SettingsDep, incidents: Incidents,
                               classifier: Classifier) -> AlertsAcceptedOut:
    body = await read_limited_body(request, settings.webhook_max_body_bytes)
    try:
        payload = AlertmanagerPayload.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in errors]) from None
    if not payload.alerts:
        raise EmptyDelivery("the payload has no alerts; nothing to do")
    # Side by side: a pod's owner may be looked up on its cluster, and a group names several pods.
    alerts = list(await asyncio.gather(*(
        classifier.classify(
            source="alertmanager", fingerprint=a.fingerprint, starts_at=a.starts_at, ends_at=a.ends_at,
            status=a.status, labels=a.labels, annotations=a.annotations, generator_url=a.generator_url,
        )
        for a in payload.alerts
    )))
    batch = AlertBatch(source="alertmanager", body=body.decode(),
                       group_key=payload.group_key, alerts=alerts)
    result = await incidents.ingest(batch)
    return AlertsAcceptedOut(incident_ids=result.incident_ids, opened=result.opened, alerts=len(alerts),
                             new_alerts=result.new_alerts, duplicate=result.duplicate_payload)
