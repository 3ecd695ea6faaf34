"""The one place a real chat model is built: any OpenAI-compatible endpoint via langchain-openai."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel


def openai_compatible_model(model: str, *, api_key: str | None, base_url: str | None,
                            timeout_seconds: float = 60.0) -> BaseChatModel:
    """OpenAI, or a local server (vLLM, Ollama, LocalAI) at `base_url`; temperature 0 for repeatable
    diagnoses. Local servers ignore the key, but the client needs one."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=model, api_key=api_key or "not-needed", base_url=base_url, temperature=0,
                      timeout=timeout_seconds, max_retries=2)
