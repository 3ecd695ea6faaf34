"""What a knowledge search is asked and what it answers, and the seam `app/` implements over Postgres."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["runbook", "incident", "human_help"]
SOURCES: tuple[str, ...] = ("runbook", "incident", "human_help")


class SearchFilters(BaseModel):
    """Metadata a hit must carry; None matches anything. A chunk with no cluster/namespace/kind (a runbook)
    matches any value of that filter: general knowledge applies everywhere."""

    model_config = ConfigDict(frozen=True)

    cluster: str | None = None
    namespace: str | None = None
    kind: str | None = None
    source: Source | None = None
    skill: str | None = None


class KnowledgeHit(BaseModel):
    chunk_id: int
    source: str
    title: str  # the document's title (a runbook's first heading, "incident 42: ...")
    heading: str  # the heading path of the chunk inside its document
    content: str
    score: float  # fused rank score, feedback included; higher is better
    skill: str | None = None
    doc_key: str = Field(default="", description="runbook path, incident:<id> or human_help:<id>")


class KnowledgeSearch(Protocol):
    """Hybrid search over the knowledge base (app.knowledge.store.KnowledgeBase implements it)."""

    async def search(self, query: str, *, filters: SearchFilters | None = None, limit: int = 5) -> list[KnowledgeHit]:
        ...
