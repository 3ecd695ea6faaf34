"""Each domain skill's typical question finds its runbook in the top 3 (on the shipped question set);
recall@3 and MRR over all questions are printed, and kept above a floor so a worse embedder or ranking
shows up as a failure."""

from __future__ import annotations

from agents.knowledge.search import SearchFilters
from agents.skills.loader import load_skills
from app.knowledge.ingest import ingest_starter_pack
from app.knowledge.quality import evaluate_retrieval, load_questions
from app.knowledge.store import KnowledgeBase


def test_question_set_covers_every_domain_skill_with_forty_questions() -> None:
    questions = load_questions()
    domain = set(load_skills().skills) - {"base"}
    assert len(questions) >= 40
    assert {q.skill for q in questions} == domain
    assert all(sum(q.typical for q in questions if q.skill == s) == 1 for s in domain)


async def test_typical_questions_rank_their_runbook_in_the_top_three(kb: KnowledgeBase) -> None:
    await ingest_starter_pack(kb)
    report = await evaluate_retrieval(kb, load_questions())
    print(report.line())
    for question, rank in report.misses():
        print(f"  miss: {question.skill}: {question.text!r} -> rank {rank}")
    typical_misses = [(q.skill, q.text, r) for q, r in report.misses() if q.typical]
    assert typical_misses == []
    assert report.recall_at_3 >= 0.9
    assert report.mrr >= 0.8


async def test_hybrid_search_finds_an_exact_error_string_and_filters_by_skill(kb: KnowledgeBase) -> None:
    await ingest_starter_pack(kb)
    hits = await kb.search("executable file not found in $PATH", limit=3)
    assert hits[0].skill == "crashloop"
    only_storage = await kb.search("executable file not found in $PATH", filters=SearchFilters(skill="storage"))
    assert only_storage and {h.skill for h in only_storage} == {"storage"}
    assert await kb.search("anything", filters=SearchFilters(source="human_help")) == []
