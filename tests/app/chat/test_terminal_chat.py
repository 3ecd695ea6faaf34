"""`opsgraph chat` over the running service: an offline answer, then an approval answered at the prompt."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

import pytest

from app.cli import main
from app.chat.terminal import run_terminal_chat
from tests.support.approval_flow import TOKEN, Flow
from tests.support.chat import chat_service


async def test_one_turn_prints_the_answer_and_the_steps(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog")
    async with chat_service(f.settings) as (url, _):
        out = io.StringIO()
        code = await asyncio.to_thread(run_terminal_chat, url, TOKEN, thread_id=None, message="what runs in default?",
                                       approver="alice", out=out, ask=lambda _: "")
    text = out.getvalue()
    assert code == 0
    assert "  · route: chat turn → qa (what_runs)" in text
    assert "  [qa]" in text and "Deployment memory-hog" in text and "Sources: [" in text


async def test_an_approval_is_answered_at_the_prompt(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog")
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return "a"

    async with chat_service(f.settings) as (url, _):
        out = io.StringIO()
        await asyncio.to_thread(run_terminal_chat, url, TOKEN, thread_id=None,
                                message="why is memory-hog failing in default?", approver="alice", out=out, ask=ask)
    text = out.getvalue()
    assert prompts == ["approve, reject or leave it? [a/r/l] "]
    assert "Approval needed for change" in text and "oom_killed:" in text
    assert "Pull request:" in text
    assert len(f.remote_branches()) == 2


def test_without_a_token_it_says_so(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OPSGRAPH_API_TOKEN", raising=False)
    assert main(["chat", "--url", "http://127.0.0.1:9", "-m", "hi"]) == 2
    assert "no API token" in capsys.readouterr().err


async def test_a_request_for_a_person_says_who_answers_and_asks_nothing(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog")
    prompts: list[str] = []
    async with chat_service(f.settings) as (url, _):
        out = io.StringIO()
        await asyncio.to_thread(run_terminal_chat, url, TOKEN, thread_id=None, message="I need a human, please",
                                approver="alice", out=out, ask=lambda p: prompts.append(p) or "")
    text = out.getvalue()
    assert prompts == []  # the chat user is not the person asked: nothing to decide here
    assert ":help-1): the user asked for a person. Their answer becomes this thread's next message." in text
    assert "  [handoff]" in text and "I have asked a person to answer this" in text
