"""HumanHelp entered from a chat request, end to end with the official `langgraph_sdk` client against the running
service (real graph, Postgres checkpointer, durable runs): the chat graph interrupts on a question keyed to the
thread, the interrupt streams the way the LangGraph server streams it, and a person's answer (HTTP help API,
or a `Command(resume=...)` run) resumes the thread and comes back as the assistant's next message."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import psycopg
from langgraph_sdk.client import LangGraphClient

from testing.scripted_model import ScriptedChatModel, ScriptedTurn
from app.api.approver_tokens import new_approver_token
from tests.support.approval_flow import TOKEN, Flow
from tests.support.chat import chat_service, turn

ASK = "I need a human: who may approve a quota raise in the payments namespace?"
ANSWER = "The payments leads approve quota raises; open a ticket in #payments-infra."


async def until(check: Callable[[], Awaitable[Any]], what: str, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.05)  # polling a condition with a deadline
    raise AssertionError(f"timed out waiting for {what}")


async def asked(client: LangGraphClient, text: str = ASK) -> tuple[str, list[Any]]:
    """A new thread whose turn asks for a person; (thread id, the stream's parts)."""
    thread = await client.threads.create()
    parts = [p async for p in client.runs.stream(thread["thread_id"], "supervisor", input=turn(text),
                                                 stream_mode=["values", "updates"])]
    return thread["thread_id"], parts


def api(url: str, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}", **headers}, timeout=30)


async def finished_runs(http: httpx.AsyncClient, thread_id: str) -> list[dict[str, Any]]:
    runs = (await http.get(f"/threads/{thread_id}/runs")).json()
    return runs if all(r["status"] not in ("pending", "running") for r in runs) else []


async def test_a_chat_request_for_a_person_interrupts_and_the_http_answer_comes_back(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog")
    async with chat_service(f.settings) as (url, client), api(url) as http:
        tid, parts = await asked(client)
        interrupts = [p.data["__interrupt__"] for p in parts if p.event == "updates" and "__interrupt__" in p.data]
        request = interrupts[0][0]["value"]
        last_values = [p.data for p in parts if p.event == "values"][-1]
        thread = await client.threads.get(tid)
        state = await client.threads.get_state(tid)
        question = (await http.get(f"/threads/{tid}/help")).json()
        answered = await http.post(f"/threads/{tid}/help", json={
            "request_id": request["request_id"], "responder": "carol", "text": ANSWER})
        assert answered.status_code == 202, answered.text
        final = await client.runs.join(tid, answered.json()["run_id"])
        after = await client.threads.get(tid)
        history = await client.threads.get_history(tid, limit=50)
        again = await http.post(f"/threads/{tid}/help", json={
            "request_id": request["request_id"], "responder": "dave", "text": "me too"})
    assert request["kind"] == "help" and request["thread_id"] == tid and request["actions"] == ["answer"]
    assert request["question"] == ASK and request["reason"] == "the user asked for a person"
    assert request["tried"] == ["routed the turn to human_help (ask_person)"]
    assert last_values["__interrupt__"][0]["value"] == request
    assert "asked a person" in last_values["messages"][-1]["content"]
    assert thread["status"] == "interrupted" and state["next"] == ["ask_person"]
    assert question["request_id"] == request["request_id"] and question["reply"] is None and question["still_asked"]
    assert question["thread_id"] == tid and question["request"]["question"] == ASK
    assert final["messages"][-1]["content"] == f"carol answered: {ANSWER}" and "__interrupt__" not in final
    assert after["status"] == "idle"
    kept = [m["content"] for m in history[0]["values"]["messages"]]
    assert kept[0] == ASK and kept[-1] == f"carol answered: {ANSWER}" and len(kept) == 3  # turn, handoff, answer
    assert again.status_code == 409 and "already answered by carol" in again.json()["detail"]


async def test_a_command_resume_answers_and_the_answer_streams_back(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog")
    async with chat_service(f.settings) as (url, client), api(url) as http:
        tid, parts = await asked(client)
        request = [p.data for p in parts if p.event == "values"][-1]["__interrupt__"][0]["value"]
        # Malformed answers are refused before anything is recorded or queued.
        for bad, status in (({}, 422), ({"text": "x" * 5000, "responder": "dave"}, 422),
                            ({"text": "ok", "responder": "dave", "action": "resolve"}, 422),
                            ({"text": "ok"}, 422), ({"text": "ok", "responder": "dave", "extra": 1}, 422)):
            refused = await http.post(f"/threads/{tid}/runs", json={"command": {"resume": bad}})
            assert refused.status_code == status, (bad, refused.text)
        assert len((await http.get(f"/threads/{tid}/runs")).json()) == 1
        assert (await http.get(f"/threads/{tid}/help")).json()["reply"] is None
        streamed = [p async for p in client.runs.stream(tid, "supervisor", stream_mode=["values", "updates"],
                                                        command={"resume": {"text": ANSWER, "responder": "dave"}})]
        question = (await http.get(f"/threads/{tid}/help")).json()
    updates = [next(iter(p.data)) for p in streamed if p.event == "updates"]
    assert "deliver_answer" in updates and "__interrupt__" not in updates
    final = [p.data for p in streamed if p.event == "values"][-1]
    assert final["messages"][-1]["content"] == f"dave answered: {ANSWER}"
    assert question["reply"]["responder"] == "dave" and question["request_id"] == request["request_id"]


async def test_reminder_then_timeout_tell_the_chat_user_and_a_late_answer_still_arrives(
        flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog", help_reminder_seconds=0.3, help_timeout_seconds=0.8, help_sweep_seconds=0.1)
    async with chat_service(f.settings) as (url, client), api(url) as http:
        tid, _ = await asked(client)
        runs = await until(lambda: _two_finished(http, tid), "the timeout's run")
        told = await client.threads.get_state(tid)
        question = (await http.get(f"/threads/{tid}/help")).json()
        thread = await client.threads.get(tid)
        late = await http.post(f"/threads/{tid}/help", json={
            "request_id": question["request_id"], "responder": "erin", "text": ANSWER})
        assert late.status_code == 202, late.text
        final = await client.runs.join(tid, late.json()["run_id"])
        runs_after = (await http.get(f"/threads/{tid}/runs")).json()
    assert runs[0]["metadata"] == {"help_request": question["request_id"], "timed_out": True}
    assert told["values"]["messages"][-1]["content"].startswith("No one has answered yet")
    assert told["interrupts"][0]["value"]["request_id"] == question["request_id"]  # the same question, still open
    assert thread["status"] == "interrupted"
    assert question["reminded_at"] and question["timed_out_at"] and question["reminded_at"] < question["timed_out_at"]
    assert final["messages"][-1]["content"] == f"erin answered: {ANSWER}"
    assert len(runs_after) == 3  # the turn, the timeout's note, the answer: one timeout, however many passes ran


async def _two_finished(http: httpx.AsyncClient, thread_id: str) -> list[dict[str, Any]]:
    runs = await finished_runs(http, thread_id)
    return runs if len(runs) == 2 else []


async def test_the_qa_agent_hands_over_when_it_cannot_answer_with_evidence(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog")
    model = ScriptedChatModel([
        ScriptedTurn(structured={"route": "qa", "form": "question", "reason": "a free question"}),
        ScriptedTurn(tool_calls=[{"name": "list_pods", "args": {"namespace": "default"}, "id": "q1"}]),
        ScriptedTurn(tool_calls=[{"name": "AskAPerson", "id": "q2", "args": {
            "reason": "the pods do not show who owns the budget; only a person knows"}}]),
    ])
    async with chat_service(f.settings, model) as (url, client), api(url) as http:
        thread = await client.threads.create()
        values = await client.runs.wait(thread["thread_id"], "supervisor",
                                        input=turn("who pays for the memory-hog pods in default?"))
        question = (await http.get(f"/threads/{thread['thread_id']}/help")).json()
    request = values["__interrupt__"][0]["value"]
    assert request["reason"] == "the pods do not show who owns the budget; only a person knows"
    assert request["from"] == "qa" and request["tried"][0] == "routed the turn to qa (question)"
    assert any(line.startswith("list_pods(namespace=default") and line.endswith(": ok") for line in request["tried"]), \
        request["tried"]
    assert question["request"] == request and question["reply"] is None
    tool_answers = [m for m in values["messages"] if m["type"] == "tool" and m["tool_call_id"] == "q2"]
    assert tool_answers and tool_answers[0]["content"] == "handed to a person"
    said = [m["content"] for m in values["messages"] if m["type"] == "ai" and m["content"]]
    assert said[-2].startswith("This needs a person: the pods do not show") and "asked a person" in said[-1]
    assert model.calls[1].tools and "AskAPerson" in model.calls[1].tools


async def test_bad_replies_are_refused_and_resume_nothing(flow: Callable[..., Flow], database_url: str) -> None:
    token, entry = new_approver_token("carol")
    f = flow("oom_memory_hog", approver_tokens=entry)
    async with chat_service(f.settings) as (url, client), api(url) as http, api(url, **{
            "X-Approver-Token": token}) as carol:
        tid, parts = await asked(client)
        rid = [p.data for p in parts if p.event == "values"][-1]["__interrupt__"][0]["value"]["request_id"]
        body = {"request_id": rid, "text": ANSWER}
        checks = [
            (await http.post(f"/threads/{tid}/help", json=body), 403, "approver token"),  # no token of her own
            (await http.post(f"/threads/{tid}/help", json=body, headers={"X-Approver-Token": "ogat_forged"}), 403,
             "not an approver's token"),
            (await carol.post(f"/threads/{tid}/help", json={**body, "responder": "mallory"}), 403, "carol"),
            (await carol.post(f"/threads/{tid}/help", json={**body, "text": "x" * 5000}), 422, "text"),
            (await carol.post(f"/threads/{tid}/help", content=b"\xff\xfe binary"), 422, ""),
            (await carol.post(f"/threads/{tid}/help", json={**body, "request_id": f"chat:{tid}:help-9"}), 409,
             "no question"),
            (await carol.post(f"/threads/{tid}/help", json={**body, "action": "resolve"}), 422, "not possible here"),
            (await carol.post("/threads/no-such-thread/help", json=body), 404, "not found"),
            (await carol.get("/threads/no-such-thread/help"), 404, "not found"),
            (await carol.post(f"/threads/{tid}/help", json=body, headers={"Authorization": "Bearer wrong"}), 401, ""),
            (await carol.post(f"/threads/{tid}/runs", json={"command": {"resume": ANSWER}}, headers={
                "X-Approver-Token": ""}), 403, "approver token"),
        ]
        for answer, status, words in checks:
            assert answer.status_code == status and words in answer.text, (status, answer.text)
        still = await client.threads.get(tid)
        runs = (await http.get(f"/threads/{tid}/runs")).json()
        ok = await carol.post(f"/threads/{tid}/help", json=body)
        assert ok.status_code == 202, ok.text
        final = await client.runs.join(tid, ok.json()["run_id"])
        # The thread moved on with a new turn: its earlier question is closed (and nothing resumes it).
        await client.runs.wait(tid, "supervisor", input=turn(ASK))
        second = (await http.get(f"/threads/{tid}/help")).json()
        await client.runs.wait(tid, "supervisor", input=turn("what runs in default?"))
        stale = await carol.post(f"/threads/{tid}/help", json={**body, "request_id": second["request_id"]})
        closed = (await http.get(f"/threads/{tid}/help")).json()
    assert still["status"] == "interrupted" and len(runs) == 1
    assert final["messages"][-1]["content"] == f"carol answered: {ANSWER}"
    assert second["request_id"] == f"chat:{tid}:help-2"
    assert stale.status_code == 409 and "moved on" in stale.json()["detail"]
    assert closed["request_id"] == second["request_id"] and closed["still_asked"] is False
    with psycopg.connect(database_url) as conn:
        replies = conn.execute("SELECT request_id, replied_by FROM help_requests WHERE thread_id = %s "
                               "ORDER BY asked_at", (tid,)).fetchall()
    assert replies == [(rid, "carol"), (second["request_id"], None)]


async def test_a_chat_diagnosis_that_needs_a_person_asks_one_with_the_diagnosis(flow: Callable[..., Flow]) -> None:
    f = flow("crashloop_command_not_found")  # the cluster holds no evidence for the right command
    async with chat_service(f.settings) as (url, client), api(url) as http:
        thread = await client.threads.create()
        values = await client.runs.wait(thread["thread_id"], "supervisor",
                                        input=turn("why is product-catalog failing in shop?"))
        question = (await http.get(f"/threads/{thread['thread_id']}/help")).json()
    request = values["__interrupt__"][0]["value"]
    said = [m["content"] for m in values["messages"] if m["type"] == "ai"]
    assert request["from"] in ("diagnostics", "remediation") and request["actions"] == ["answer"]
    assert any(line.startswith("diagnosed ") for line in request["tried"]), request["tried"]
    assert said[-2].startswith(values["diagnosis"]["category"]) and "asked a person" in said[-1]
    assert question["request"] == request and f.remote_branches() == ["main"]
