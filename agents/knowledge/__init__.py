"""The knowledge base as agents see it: the Markdown chunker, the embedders, what a search returns and
the seams (`KnowledgeSearch`, `IncidentHistory`) that `app/` implements over Postgres.

The starter runbooks (`runbooks/*.md`, one per domain skill) and the distilled embedding model
(`model/`) are package data.
"""

from pathlib import Path

RUNBOOKS_DIR = Path(__file__).parent / "runbooks"
QUESTIONS_FILE = Path(__file__).parent / "retrieval_questions.yaml"
