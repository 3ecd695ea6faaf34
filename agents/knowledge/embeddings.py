"""Text to vectors. Offline by default: a static model distilled from all-MiniLM-L6-v2 with model2vec
ships in `model/` (package data; `scripts/distil_embedding_model.py` remakes it) and needs only numpy
and tokenizers at run time: nothing is downloaded. With an OpenAI-compatible embeddings endpoint
configured, that endpoint embeds instead.

Vectors from different embedders are not comparable, so each embedder has a `name` stored beside every
vector it made; a search compares only vectors of the current embedder.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

MODEL_DIR = Path(__file__).parent / "model"
STATIC_NAME = "static:all-minilm-l6-v2-m2v"


class EmbeddingError(RuntimeError):
    """The embedder could not embed (endpoint down or refusing); the message says which and why."""


class Embedder(Protocol):
    name: str

    async def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        ...


@lru_cache(maxsize=1)
def _static_model(path: str) -> Any:
    from model2vec import StaticModel

    return StaticModel.from_pretrained(path)


class StaticEmbedder:
    """The shipped model2vec model: a token-embedding lookup and a mean, about 3 ms per 100 texts."""

    name = STATIC_NAME

    def __init__(self, model_dir: Path = MODEL_DIR) -> None:
        if not (model_dir / "model.safetensors").is_file():
            raise EmbeddingError(f"no embedding model in {model_dir}; run scripts/distil_embedding_model.py")
        self.model = _static_model(str(model_dir))

    async def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        if not texts:
            return []
        vectors = np.asarray(self.model.encode(list(texts)), dtype=np.float32)
        return list(_normalized(vectors))


class OpenAIEmbedder:
    """An OpenAI-compatible `/embeddings` endpoint (OpenAI, vLLM, Ollama, LocalAI) through langchain-openai."""

    def __init__(self, model: str, *, base_url: str | None, api_key: str | None, timeout: float = 30.0) -> None:
        from langchain_openai import OpenAIEmbeddings

        self.name = f"openai:{model}"
        # Local servers do not speak tiktoken's token arrays: send the texts as they are.
        self.client = OpenAIEmbeddings(model=model, base_url=base_url, api_key=api_key or "unused",  # type: ignore[arg-type]
                                       check_embedding_ctx_length=False, timeout=timeout, max_retries=1)

    async def embed(self, texts: Sequence[str]) -> list[np.ndarray]:
        if not texts:
            return []
        try:
            rows = await self.client.aembed_documents(list(texts))
        except Exception as exc:  # the client raises its own family of errors; one sentence is enough here
            raise EmbeddingError(f"embeddings endpoint failed for {self.name}: {type(exc).__name__}: "
                                 f"{str(exc)[:300]}") from exc
        return list(_normalized(np.asarray(rows, dtype=np.float32)))


def _normalized(vectors: np.ndarray) -> np.ndarray:
    """Unit length, so cosine distance is a dot product; an all-zero vector (no known token) stays zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)
