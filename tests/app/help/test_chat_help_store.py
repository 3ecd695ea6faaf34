"""A chat thread's questions on a real Postgres: exactly one subject per question (migration 0012), a reply that
lands while the thread's run is still live is handed to that run instead of being lost, and the sweep's
timeout queues the run that tells the chat user, in the transaction that marked it."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from agents.chat.help import chat_help_request
from agents.human_help import HelpReply
from app.approvals.store import DecisionRefused
from app.chat.store import ChatStore
from app.help.chat import ChatHelpStore
from app.help.store import HelpStore
from app.incidents.queue import IntakeQueue, QueuePolicy


async def _asked(pool: AsyncConnectionPool[Any]) -> tuple[ChatStore, ChatHelpStore, str, dict[str, Any], str]:
    chat = ChatStore(pool, QueuePolicy())
    row = await chat.create_thread(None, "default", {})
    assert row is not None
    thread_id = row["thread_id"]
    run = await chat.create_run({"thread_id": thread_id, "metadata": {"cluster": "default"}},
                                {"input": {"messages": []}})
    request = chat_help_request(thread_id, 1, question="is the freeze on?", reason="the user asked for a person",
                                tried=[], source="human_help")
    store = ChatHelpStore(pool, chat)
    assert await store.ask(thread_id, request) and not await store.ask(thread_id, request)  # recorded once
    return chat, store, thread_id, request, str(run["run_id"])


def _reply(request: dict[str, Any], who: str = "carol") -> HelpReply:
    return HelpReply(request_id=request["request_id"], action="answer", responder=who, text="yes, until Friday")


async def test_a_reply_during_the_live_run_is_carried_on_by_that_run(db_pool: AsyncConnectionPool[Any]) -> None:
    chat, store, thread_id, request, run_id = await _asked(db_pool)
    recorded = await store.reply(thread_id, _reply(request))
    with pytest.raises(DecisionRefused, match="already answered by carol"):
        await store.reply(thread_id, _reply(request, "dave"))
    carried = await store.finish_waiting(run_id, thread_id, request["request_id"])
    assert recorded["run"] is None  # the live run takes it: a second run would be refused anyway
    assert carried is not None and carried.responder == "carol"
    assert (await chat.run(thread_id, run_id))["status"] == "pending"  # not ended: it goes on with the reply


async def test_a_run_with_no_reply_yet_ends_waiting_and_the_reply_queues_the_resume(
        db_pool: AsyncConnectionPool[Any]) -> None:
    chat, store, thread_id, request, run_id = await _asked(db_pool)
    assert await store.finish_waiting(run_id, thread_id, request["request_id"]) is None
    assert (await chat.thread(thread_id))["status"] == "interrupted"
    recorded = await store.reply(thread_id, _reply(request))
    resume = recorded["run"]
    assert resume is not None and resume["request"]["command"]["resume"]["text"] == "yes, until Friday"
    assert (await chat.thread(thread_id))["status"] == "busy"


async def test_the_timeout_tells_the_chat_user_in_the_same_transaction(db_pool: AsyncConnectionPool[Any],
                                                                       database_url: str) -> None:
    chat, store, thread_id, request, run_id = await _asked(db_pool)
    await store.finish_waiting(run_id, thread_id, request["request_id"])
    help_store = HelpStore(db_pool, IntakeQueue(db_pool, QueuePolicy()))
    reminded = await help_store.remind_due(0)
    timed_out = await help_store.time_out_due(0, store.resume_timed_out)
    again = await help_store.time_out_due(0, store.resume_timed_out)
    runs = await chat.runs(thread_id)
    assert [(d.thread_id, d.incident_id) for d in reminded] == [(thread_id, None)]
    assert [d.request_id for d in timed_out] == [request["request_id"]] and again == []
    assert runs[0]["request"]["command"]["resume"] == {"kind": "help_timeout", "request_id": request["request_id"]}
    assert len(runs) == 2
    with psycopg.connect(database_url) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):  # a question has exactly one subject
            conn.execute("INSERT INTO help_requests (request_id, request) VALUES ('orphan', '{}')")
