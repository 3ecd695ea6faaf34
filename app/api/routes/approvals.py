"""The approval API, for people without Slack: read the pending change, decide on it.

A decision is recorded once (a second one gets 409 naming the first) and handed to the paused graph
through the work queue, so any replica resumes it, hours later, from the checkpoint alone.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from agents.remediation import ApprovalDecision, FieldEdit, is_revert
from app.api.approver_tokens import decider, full_hash
from app.api.auth import require_api_token
from app.api.deps import Approvals, SettingsDep

router = APIRouter(prefix="/incidents", tags=["approvals"], dependencies=[Depends(require_api_token)])


class DecisionIn(BaseModel):
    decision: Literal["approve", "reject", "edit"]
    approver: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="Who decides; checked against OPSGRAPH_APPROVERS. With "
                                 "OPSGRAPH_APPROVER_TOKENS the owner of X-Approver-Token decides instead.")
    diff_hash: str = Field(min_length=12, max_length=64, pattern="^[0-9a-f]{12,64}$",
                           description="The hash of the change being decided, from GET .../approval, or its "
                           "first 12+ characters as the card and timeline show it.")
    edits: list[FieldEdit] = Field(default_factory=list, max_length=20)
    reason: str | None = Field(default=None, max_length=2000)


class DecisionOut(BaseModel):
    incident_id: int
    decision: str
    diff_hash: str
    approver: str



@router.get("/{incident_id}/approval")
async def pending_approval(incident_id: int, store: Approvals) -> Any:
    """The change waiting for a decision: diff, its hash, steps, risk, evidence, expiry."""
    return await store.pending(incident_id)


@router.post("/{incident_id}/approval", status_code=202, response_model=DecisionOut,
             responses={403: {}, 409: {}})
async def decide(incident_id: int, body: DecisionIn, request: Request, settings: SettingsDep,
                store: Approvals) -> Any:
    approver = decider(request, settings, body.approver)
    if body.decision == "edit" and not body.edits:
        return JSONResponse({"detail": "an edit decision needs edits: [{object_field, new_value}]"}, status_code=422)
    diff_hash = body.diff_hash
    # Read the pending change only when needed: a plain late click must still hear "already decided by X".
    pending = await store.pending(incident_id) if body.decision == "edit" or len(diff_hash) < 64 else {}
    if body.decision == "edit" and is_revert(pending.get("steps") or []):
        return JSONResponse({"detail": "a revert is approved or rejected as git made it; it cannot be edited"},
                            status_code=422)
    if len(diff_hash) < 64:  # a short hash names the pending change only when it starts that change's hash
        diff_hash = full_hash(diff_hash, str(pending.get("diff_hash", "")))
        if len(diff_hash) < 64:
            return JSONResponse({"detail": f"change {diff_hash} was superseded: the pending change is "
                                           f"{str(pending.get('diff_hash'))[:12]}"}, status_code=409)
    return await store.decide(incident_id, ApprovalDecision(
        **{**body.model_dump(), "approver": approver, "diff_hash": diff_hash}))
