"""Feedback on an incident's handling: 👍/👎 with an optional comment, per person (Slack's buttons use the same store)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from app.api.auth import require_api_token
from app.api.deps import Feedback
from app.incidents.feedback import Vote

router = APIRouter(prefix="/incidents", tags=["feedback"], dependencies=[Depends(require_api_token)])


class FeedbackIn(BaseModel):
    user: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")
    vote: Vote
    comment: str | None = Field(default=None, max_length=2000)



@router.get("/{incident_id}/feedback")
async def feedback(incident_id: int, store: Feedback) -> Any:
    """Counts of 👍 and 👎 and each person's vote and comment."""
    return await store.for_incident(incident_id)


@router.post("/{incident_id}/feedback", status_code=201, responses={404: {}})
async def give_feedback(incident_id: int, body: FeedbackIn, store: Feedback) -> Any:
    await store.record(incident_id, body.user, body.vote, body.comment)
    return await store.for_incident(incident_id)
