"""The knowledge base API: search it as the agents do, and give 👍/👎 on what it returned."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from agents.knowledge.search import KnowledgeHit, SearchFilters
from app.api.auth import require_api_token
from app.knowledge.store import KnowledgeBase

router = APIRouter(prefix="/knowledge", tags=["knowledge"], dependencies=[Depends(require_api_token)])

Printable = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]*$")]


async def _knowledge(request: Request) -> KnowledgeBase:
    knowledge: KnowledgeBase = request.app.state.knowledge
    return knowledge


Knowledge = Annotated[KnowledgeBase, Depends(_knowledge)]


class SearchOut(BaseModel):
    hits: list[KnowledgeHit]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chunk_id: int = Field(gt=0, description="A hit's chunk_id.")
    helpful: bool = Field(description="true: 👍 (ranks it higher), false: 👎 (lower).")
    actor: Printable = Field(min_length=1, max_length=200, description="Who says so.")
    incident_id: int | None = Field(None, gt=0, description="The incident it was (un)helpful for.")


class FeedbackOut(BaseModel):
    chunk_id: int
    feedback: int = Field(description="The chunk's 👍 minus 👎 so far.")


@router.get("/search", response_model=SearchOut)
async def search(knowledge: Knowledge,
                 q: Annotated[str, Query(min_length=3, max_length=400, pattern=r"^[^\x00-\x1f\x7f]*$")],
                 source: Literal["runbook", "incident", "human_help"] | None = None,
                 skill: Annotated[str | None, Query(max_length=63, pattern=r"^[a-z0-9_]+$")] = None,
                 cluster: Annotated[str | None, Query(max_length=253)] = None,
                 namespace: Annotated[str | None, Query(max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")] = None,
                 limit: Annotated[int, Query(ge=1, le=20)] = 5) -> SearchOut:
    filters = SearchFilters(source=source, skill=skill, cluster=cluster, namespace=namespace)
    return SearchOut(hits=await knowledge.search(q, filters=filters, limit=limit))


@router.post("/feedback", response_model=FeedbackOut)
async def feedback(body: FeedbackIn, knowledge: Knowledge) -> FeedbackOut:
    try:
        total = await knowledge.feedback(body.chunk_id, helpful=body.helpful, actor=body.actor,
                                         incident_id=body.incident_id)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return FeedbackOut(chunk_id=body.chunk_id, feedback=total)
