"""The HumanHelp API, for people without Slack: read the question an incident waits on, answer it.

A reply is recorded once (a second gets 409 naming the first) and resumes the paused graph through
the work queue, like an approval decision: diagnose again with a hint, plan again, or close the
incident with the person's resolution.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from agents.human_help import HelpAction, HelpReply
from app.api.approver_tokens import decider
from app.api.auth import require_api_token
from app.api.deps import HelpRequests, SettingsDep
from app.approvals.store import DecisionRefused

router = APIRouter(prefix="/incidents", tags=["human help"], dependencies=[Depends(require_api_token)])


class ReplyIn(BaseModel):
    request_id: str = Field(min_length=1, max_length=200, description="The question answered, from GET .../help.")
    action: HelpAction = Field(description="diagnose (again, with `text` as a hint), plan (again) or resolve "
                                           "(close the incident with `text` as the resolution).")
    responder: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$",
                                  description="Who replies; with OPSGRAPH_APPROVER_TOKENS the owner of X-Approver-Token.")
    text: str = Field(min_length=1, max_length=4000)


class ReplyOut(BaseModel):
    incident_id: int
    request_id: str
    action: str
    responder: str



@router.get("/{incident_id}/help")
async def help_request(incident_id: int, store: HelpRequests) -> Any:
    """The incident's last question to a person (reason, context, possible actions) and its reply, if any."""
    latest = await store.latest(incident_id)
    if latest is None:
        raise DecisionRefused(404, f"incident {incident_id} has not asked for help")
    return latest


@router.post("/{incident_id}/help", status_code=202, response_model=ReplyOut, responses={404: {}, 409: {}, 422: {}})
async def reply(incident_id: int, body: ReplyIn, request: Request, settings: SettingsDep,
                store: HelpRequests) -> Any:
    responder = decider(request, settings, body.responder, allowlist=False)
    return await store.reply(incident_id, HelpReply(**{**body.model_dump(), "responder": responder}))
