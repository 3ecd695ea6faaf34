"""The approval API, for people without Slack: read the pending change, decide on it.

A decision is recorded once (a second one gets 409 naming the first) and handed to the paused graph
through the work queue, so any replica resumes it, hours later, from the checkpoint alone.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from agents.remediation import ApprovalDecision, FieldEdit
from app.api.auth import require_api_token
from app.api.deps import SettingsDep
from app.approvals.store import ApprovalStore

router = APIRouter(prefix="/incidents", tags=["approvals"], dependencies=[Depends(require_api_token)])


class DecisionIn(BaseModel):
    decision: Literal["approve", "reject", "edit"]
    approver: str = Field(min_length=1, max_length=200, description="Who decides; checked against OPSGRAPH_APPROVERS.")
    diff_hash: str = Field(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$",
                           description="The hash of the change being decided, from GET .../approval.")
    edits: list[FieldEdit] = Field(default_factory=list, max_length=20)
    reason: str | None = Field(default=None, max_length=2000)


class DecisionOut(BaseModel):
    incident_id: int
    decision: str
    diff_hash: str
    approver: str


def _store(request: Request) -> ApprovalStore:
    store: ApprovalStore = request.app.state.approvals
    return store


@router.get("/{incident_id}/approval")
async def pending_approval(incident_id: int, request: Request) -> Any:
    """The change waiting for a decision: diff, its hash, steps, risk, evidence, expiry."""
    return await _store(request).pending(incident_id)


@router.post("/{incident_id}/approval", status_code=202, response_model=DecisionOut,
             responses={403: {}, 409: {}})
async def decide(incident_id: int, body: DecisionIn, request: Request, settings: SettingsDep) -> Any:
    allowed = settings.approver_list
    if allowed and body.approver not in allowed:
        return JSONResponse({"detail": f"{body.approver!r} is not an approver (OPSGRAPH_APPROVERS)"}, status_code=403)
    if body.decision == "edit" and not body.edits:
        return JSONResponse({"detail": "an edit decision needs edits: [{object_field, new_value}]"}, status_code=422)
    return await _store(request).decide(incident_id, ApprovalDecision(**body.model_dump()))
