"""Retrieval quality of the knowledge base on the shipped question set: recall@3 and MRR by runbook.

A question is answered when a chunk of its runbook (the starter runbook of its skill) ranks in the top
three; its reciprocal rank is 1 / the rank of the first such chunk (0 when none is in the top ten).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from agents.knowledge import QUESTIONS_FILE
from agents.knowledge.search import SearchFilters
from app.knowledge.store import KnowledgeBase

DEPTH = 10
RUNBOOKS_ONLY = SearchFilters(source="runbook")


@dataclass(frozen=True)
class Question:
    skill: str
    text: str
    typical: bool  # the first question of its skill


@dataclass
class RetrievalReport:
    ranks: list[tuple[Question, int | None]] = field(default_factory=list)  # rank of the right runbook

    @property
    def recall_at_3(self) -> float:
        return sum(1 for _, r in self.ranks if r is not None and r <= 3) / len(self.ranks)

    @property
    def mrr(self) -> float:
        return sum(1 / r for _, r in self.ranks if r is not None) / len(self.ranks)

    def misses(self, within: int = 3) -> list[tuple[Question, int | None]]:
        return [(q, r) for q, r in self.ranks if r is None or r > within]

    def line(self) -> str:
        return (f"retrieval: {len(self.ranks)} questions, recall@3 {self.recall_at_3:.3f}, MRR {self.mrr:.3f}, "
                f"typical questions in top 3: {sum(1 for q, r in self.ranks if q.typical and r and r <= 3)}/"
                f"{sum(1 for q, _ in self.ranks if q.typical)}")


def load_questions(path: Path = QUESTIONS_FILE) -> list[Question]:
    data = yaml.safe_load(path.read_text())
    return [Question(skill, text, i == 0) for skill, texts in data.items() for i, text in enumerate(texts)]


async def evaluate_retrieval(kb: KnowledgeBase, questions: list[Question], *,
                             filters: SearchFilters | None = RUNBOOKS_ONLY,
                             mode: Literal["hybrid", "meaning", "words"] = "hybrid") -> RetrievalReport:
    report = RetrievalReport()
    for question in questions:
        hits = await kb.search(question.text, filters=filters, limit=DEPTH, mode=mode)
        rank = next((i for i, hit in enumerate(hits, 1)
                     if hit.skill == question.skill and hit.doc_key.startswith("starter:")), None)
        report.ranks.append((question, rank))
    return report
