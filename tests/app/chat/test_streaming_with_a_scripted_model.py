"""With the scripted streaming model, driven by the real `langgraph_sdk` client against the running service:
tokens before the final values, node names, an approval interrupt resumed with a command, a join after
the client went away."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from testing.scripted_model import ScriptedChatModel, ScriptedTurn
from tests.support.approval_flow import TOKEN, Flow
from tests.support.chat import chat_service, turn

NS = "default"
ANSWER = "memory-hog restarts because its container is OOMKilled against a 100Mi limit."


def route(route: str, form: str, **extra: Any) -> ScriptedTurn:
    return ScriptedTurn(structured={"route": route, "form": form, "reason": "scripted", **extra})


def diagnosis_draft() -> ScriptedTurn:
    return ScriptedTurn(structured={
        "category": "oom_killed", "root_cause": "memory-hog is OOMKilled: stress allocates 200M against 100Mi",
        "confidence": 0.7, "evidence": []})  # the confident rules keep their own evidence


async def test_tokens_arrive_before_the_final_values_with_node_names(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog")
    model = ScriptedChatModel([
        route("qa", "question"),
        ScriptedTurn(tool_calls=[{"name": "list_pods", "args": {"namespace": NS}, "id": "q1"}]),
        ANSWER,
    ])
    async with chat_service(f.settings, model) as (_, client):
        thread = await client.threads.create()
        parts = [p async for p in client.runs.stream(thread["thread_id"], "supervisor",
                                                     input=turn("why does memory-hog keep restarting?"),
                                                     stream_mode=["messages-tuple", "values", "updates"])]
    names = [p.event for p in parts]
    tokens = [i for i, p in enumerate(parts) if p.event == "messages" and p.data[0].get("content")]
    last_values = max(i for i, n in enumerate(names) if n == "values")
    assert tokens and tokens[0] < last_values
    streamed = "".join(parts[i].data[0]["content"] for i in tokens if parts[i].data[1]["langgraph_node"] == "qa")
    assert ANSWER in streamed  # token by token, as the model produced them
    assert len(tokens) > 5
    assert {"route_turn", "qa"} <= {next(iter(p.data)) for p in parts if p.event == "updates"}
    final = parts[last_values].data
    assert final["answer"]["citations"][0]["tool"] == "list_pods"
    assert final["messages"][-1]["content"].startswith(ANSWER)
    assert model.remaining == 0


async def test_an_approval_interrupt_streams_and_a_command_resumes_it(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog")
    model = ScriptedChatModel([route("diagnostics", "why_failing", name="memory-hog", kind="Deployment",
                                     namespace=NS), diagnosis_draft()])
    async with chat_service(f.settings, model) as (_, client):
        thread = await client.threads.create()
        tid = thread["thread_id"]
        parts = [p async for p in client.runs.stream(tid, "supervisor", input=turn("why is memory-hog failing?"),
                                                     stream_mode=["updates", "values", "custom", "messages-tuple"])]
        # The model's chunks reach the client from inside the diagnostics subgraph too.
        nodes = {p.data[1]["langgraph_node"] for p in parts if p.event == "messages"}
        assert {"route_turn", "conclude"} <= nodes
        interrupts = [p.data["__interrupt__"] for p in parts if p.event == "updates" and "__interrupt__" in p.data]
        assert interrupts, [p.event for p in parts]
        request = interrupts[0][0]["value"]
        assert request["kind"] == "approval" and len(request["diff_hash"]) == 64
        assert parts[-2].event == "values" and parts[-2].data["__interrupt__"][0]["value"] == request
        steps = [p.data["step"] for p in parts if p.event == "custom"]
        assert {"route", "rules", "diagnosis"} <= set(steps)
        assert (await client.threads.get(tid))["status"] == "interrupted"
        assert f.remote_branches() == ["main"]  # nothing delivered before the decision

        decision = {"decision": "approve", "approver": "alice", "diff_hash": request["diff_hash"]}
        resumed = [p async for p in client.runs.stream(tid, "supervisor", command={"resume": decision},
                                                       stream_mode="values")]
    final = resumed[-2].data
    assert final["approval"]["decision"] == "approve"
    assert final["pr"]["url"]
    assert "Pull request" in final["messages"][-1]["content"]
    assert len(f.remote_branches()) == 2


async def test_a_client_that_disconnects_can_join_the_finished_run(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog")
    model = ScriptedChatModel([route("qa", "question"), ANSWER])
    async with chat_service(f.settings, model) as (_, client):
        thread = await client.threads.create()
        tid = thread["thread_id"]
        async for part in client.runs.stream(tid, "supervisor", input=turn("anything failing?"),
                                             stream_mode="messages-tuple"):
            assert part.event == "metadata"
            run_id = part.data["run_id"]
            break  # the client goes away after the first event
        values = await client.runs.join(tid, run_id)
        assert values["messages"][-1]["content"].startswith(ANSWER)
        replay = [p async for p in client.runs.join_stream(tid, run_id, stream_mode="messages-tuple")]
        run = await client.runs.get(tid, run_id)
    assert run["status"] == "success"
    assert replay[0].event == "metadata" and replay[-1].event == "end"
    assert ANSWER in "".join(p.data[0]["content"] for p in replay if p.event == "messages")


async def test_a_run_outlives_its_client_and_the_replica_that_took_it(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog")
    async with chat_service(f.settings.model_copy(update={"workers": 0})) as (url, client):
        thread = await client.threads.create()
        tid = thread["thread_id"]
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            async with http.stream("POST", f"/threads/{tid}/runs/stream",
                                   json={"input": turn("anything failing?"), "stream_mode": "values"}) as response:
                assert response.status_code == 200
                run_id = response.headers["content-location"].rsplit("/", 1)[1]
                reconnect = response.headers["location"]
                assert reconnect == f"/threads/{tid}/runs/{run_id}/stream?stream_mode=values&stream_subgraphs=False"
            # The client hung up before any worker took the run, and this replica now stops.
        assert (await client.runs.get(tid, run_id))["status"] == "pending"
    model = ScriptedChatModel([route("qa", "question"), ANSWER])
    async with chat_service(f.settings, model) as (_, client):
        values = await client.runs.join(tid, run_id)
        assert values["messages"][-1]["content"].startswith(ANSWER)
        all_events = [p async for p in client.runs.join_stream(tid, run_id, stream_mode="values")]
        later = [p async for p in client.runs.join_stream(tid, run_id, stream_mode="values", last_event_id="2")]
    assert [p.event for p in all_events][0] == "metadata"
    assert all(int(p.id) > 2 for p in later) and later[-1].event == "end"
    assert len(later) < len(all_events)
