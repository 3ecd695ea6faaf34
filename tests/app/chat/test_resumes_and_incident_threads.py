"""Resumes are checked like the approval API's decisions; incident threads are readable, not runnable,
through the chat API; a thread takes one run at a time."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.support.approval_flow import TOKEN, Flow
from tests.support.chat import chat_service, turn


async def test_a_resume_is_checked_before_it_is_queued(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog")
    async with chat_service(f.settings) as (url, client):
        thread = await client.threads.create()
        tid = thread["thread_id"]
        values = await client.runs.wait(tid, "supervisor", input=turn("why is memory-hog failing in default?"))
        request = values["__interrupt__"][0]["value"]
        good = {"decision": "approve", "approver": "alice", "diff_hash": request["diff_hash"]}
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            async def resume(value: object) -> httpx.Response:
                return await http.post(f"/threads/{tid}/runs", json={"command": {"resume": value}})

            stranger = await resume({**good, "approver": "mallory"})
            assert stranger.status_code == 403 and "mallory" in stranger.json()["detail"]
            stale = await resume({**good, "diff_hash": "0" * 64})
            assert stale.status_code == 409 and "waits on" in stale.json()["detail"]
            nonsense = await resume({"decision": "maybe"})
            assert nonsense.status_code == 422 and "approval decision" in nonsense.json()["detail"]
            assert len((await http.get(f"/threads/{tid}/runs")).json()) == 1  # none of them was queued
        assert f.remote_branches() == ["main"]
        done = await client.runs.wait(tid, "supervisor", command={"resume": good})
    assert done["pr"]["url"] and "__interrupt__" not in done


async def test_an_incident_is_a_readable_thread(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog")
    async with f.service() as http:
        incident = await f.alert(http)
        thread_id = str(incident["id"])
        state = (await http.get(f"/threads/{thread_id}/state")).json()
        assert state["values"]["diagnosis"]["category"] == "oom_killed"
        assert state["interrupts"][0]["value"]["kind"] == "approval"
        assert state["next"] == ["remediation"]
        thread = (await http.get(f"/threads/{thread_id}")).json()
        assert thread["status"] == "interrupted" and thread["metadata"]["kind"] == "incident"
        history = (await http.post(f"/threads/{thread_id}/history", json={"limit": 3})).json()
        assert len(history) == 3 and history[0]["checkpoint"]["checkpoint_id"]
        refused = await http.post(f"/threads/{thread_id}/runs", json={"command": {"resume": {"decision": "approve"}}})
        assert refused.status_code == 409 and f"/incidents/{thread_id}/approval" in refused.json()["detail"]


async def test_one_run_at_a_time_per_thread(flow: Callable[..., Flow]) -> None:
    f = flow("oom_memory_hog", workers=0)  # nothing claims the run: it stays pending
    async with chat_service(f.settings) as (url, client):
        thread = await client.threads.create()
        first = await client.runs.create(thread["thread_id"], "supervisor", input=turn("what runs in default?"))
        assert first["status"] == "pending"
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            second = await http.post(f"/threads/{thread['thread_id']}/runs", json={"input": turn("again")})
            assert second.status_code == 409 and "in flight" in second.json()["detail"]
            cancelled = await http.post(f"/threads/{thread['thread_id']}/runs/{first['run_id']}/cancel")
            assert cancelled.status_code == 202
            run = (await http.get(f"/threads/{thread['thread_id']}/runs/{first['run_id']}")).json()
            assert run["status"] == "interrupted"
            events = [p async for p in client.runs.join_stream(thread["thread_id"], first["run_id"])]
            assert [p.event for p in events] == ["error", "end"]
            assert "cancelled over the API" in events[0].data["message"]
            third = await http.post(f"/threads/{thread['thread_id']}/runs", json={"input": turn("now")})
            assert third.status_code == 200
