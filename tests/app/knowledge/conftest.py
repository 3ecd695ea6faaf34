"""A knowledge base on the test's own migrated database, with the shipped static embedder."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from agents.knowledge.embeddings import StaticEmbedder
from app.knowledge.store import KnowledgeBase


@pytest.fixture(scope="session")
def embedder() -> StaticEmbedder:
    return StaticEmbedder()


@pytest.fixture
def kb(db_pool: AsyncConnectionPool[Any], embedder: StaticEmbedder) -> KnowledgeBase:
    return KnowledgeBase(db_pool, embedder)
