-- pgvector backs the knowledge base (similar past incidents, runbooks).
CREATE EXTENSION IF NOT EXISTS vector;
