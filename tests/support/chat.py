"""The chat API as a person's client sees it: the service on loopback, driven by `langgraph_sdk`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from app.inprocess import serving
from app.runner import build_incident_runner
from app.settings import Settings
from tests.support.approval_flow import TOKEN


@asynccontextmanager
async def chat_service(settings: Settings, model: BaseChatModel | None = None) -> AsyncIterator[tuple[str, LangGraphClient]]:
    """The running service (workers and all, `model` in place of a configured one) and an SDK client."""
    async with serving(settings, runner_factory=partial(build_incident_runner, model=model)) as url:
        yield url, get_client(url=url, headers={"Authorization": f"Bearer {TOKEN}"})


def turn(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}
