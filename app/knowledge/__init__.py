"""The knowledge base over Postgres: runbooks, incident memory and human answers, searched by meaning
(pgvector) and by words (full text) together."""
