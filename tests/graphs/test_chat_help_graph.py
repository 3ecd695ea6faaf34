"""The chat graph's HumanHelp nodes with the Postgres checkpointer: a request for a person interrupts on a question
keyed to the thread; a resume for another question answers nothing; a timeout tells the user and asks again; the
person's answer becomes the assistant's next message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.types import Command

from graphs.supervisor import run_config
from tests.graphs.conftest import Harness

THREAD = "chat-help-1"


async def _run(h: Harness, graph_input: Any) -> dict[str, Any]:
    result: dict[str, Any] = await h.graph.ainvoke(graph_input, run_config(THREAD, h.context.budgets),
                                                   context=h.context)
    return result


def _reply(request_id: str, text: str = "the freeze ends Friday") -> dict[str, Any]:
    return {"request_id": request_id, "action": "answer", "responder": "carol", "text": text}


async def test_ask_wait_time_out_and_answer(harness: Callable[..., Harness]) -> None:
    h = harness("oom_memory_hog", incident_id=THREAD)
    first = await _run(h, {"messages": [{"role": "user", "content": "can a person tell me if the freeze is on?"}]})
    [question] = first["__interrupt__"]
    request = question.value
    other = await _run(h, Command(resume=_reply("chat:someone-else:help-1")))
    timed_out = await _run(h, Command(resume={"kind": "help_timeout", "request_id": request["request_id"]}))
    answered = await _run(h, Command(resume=_reply(request["request_id"])))
    state = await h.graph.aget_state(run_config(THREAD, h.context.budgets))
    assert request["request_id"] == f"chat:{THREAD}:help-1" and request["actions"] == ["answer"]
    assert request["question"] == "can a person tell me if the freeze is on?"
    assert other["__interrupt__"][0].value == request and len(other["messages"]) == 2  # nothing said, asked again
    assert timed_out["__interrupt__"][0].value == request  # the same question, still open
    assert timed_out["messages"][-1].content.startswith("No one has answered yet")
    assert "__interrupt__" not in answered and not state.next
    last = answered["messages"][-1]
    assert isinstance(last, AIMessage) and last.content == "carol answered: the freeze ends Friday"
    assert answered["help_rounds"] == 1
    assert [k for k in h.timeline.kinds(THREAD) if k == "help"] == ["help", "help"]  # asked, answered


async def test_the_next_request_for_a_person_is_a_new_question(harness: Callable[..., Harness]) -> None:
    h = harness("oom_memory_hog", incident_id=THREAD)
    first = await _run(h, {"messages": [{"role": "user", "content": "I need a human"}]})
    await _run(h, Command(resume=_reply(first["__interrupt__"][0].value["request_id"])))
    answer = await _run(h, {"messages": [{"role": "user", "content": "what runs in default?"}]})
    second = await _run(h, {"messages": [{"role": "user", "content": "let me talk to a person again"}]})
    assert "__interrupt__" not in answer and answer["answer"]["form"] == "what_runs"
    assert second["__interrupt__"][0].value["request_id"] == f"chat:{THREAD}:help-2"
