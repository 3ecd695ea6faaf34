"""The chat API driven by the official `langgraph_sdk` client against the running service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph_sdk import get_client
from pydantic import SecretStr

from app.inprocess import serving
from app.settings import Settings
from sim.runtime import RunningSim

TOKEN = "chat-token-0123456789"


def configured(settings: Settings, sim: RunningSim, **extra: Any) -> Settings:
    return settings.model_copy(update={"kubeconfig": sim.kubeconfig_path, "api_token": SecretStr(TOKEN),
                                       "workers": 1, **extra})


async def test_what_runs_streams_values_and_steps(settings: Settings, sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("oom_memory_hog")
    async with serving(configured(settings, sim)) as url:
        client = get_client(url=url, headers={"Authorization": f"Bearer {TOKEN}"})
        assistants = await client.assistants.search()
        assert assistants[0]["assistant_id"] == "supervisor"
        thread = await client.threads.create()
        parts = [p async for p in client.runs.stream(
            thread["thread_id"], "supervisor", input={"messages": [{"role": "user", "content": "what runs in default?"}]},
            stream_mode=["values", "updates", "custom"])]
        events = [p.event for p in parts]
        assert events[0] == "metadata"
        assert "updates" in events and "custom" in events and events[-1] == "end"
        updates = [next(iter(p.data)) for p in parts if p.event == "updates"]
        assert updates[:2] == ["route_turn", "qa"]
        final = [p.data for p in parts if p.event == "values"][-1]
        assert final["answer"]["form"] == "what_runs"
        assert "memory-hog" in final["messages"][-1]["content"]
        fetched = await client.threads.get(thread["thread_id"])
        assert fetched["status"] == "idle" and fetched["values"]["answer"]["form"] == "what_runs"
        tagged = await client.threads.create(metadata={"team": "payments"})
        found = await client.threads.search(metadata={"team": "payments"})
        assert [t["thread_id"] for t in found] == [tagged["thread_id"]]
        assert thread["thread_id"] in [t["thread_id"] for t in await client.threads.search(status="idle")]
        state = await client.threads.get_state(thread["thread_id"])
        assert state["values"]["answer"]["form"] == "what_runs"
        assert state["next"] == []


async def test_subgraph_updates_are_named_by_namespace_when_asked(settings: Settings,
                                                                  sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("oom_memory_hog")
    async with serving(configured(settings, sim)) as url:
        client = get_client(url=url, headers={"Authorization": f"Bearer {TOKEN}"})
        thread = await client.threads.create()
        question = {"messages": [{"role": "user", "content": "why is memory-hog failing in default?"}]}
        nested = [p.event async for p in client.runs.stream(thread["thread_id"], "supervisor", input=question,
                                                            stream_mode="updates", stream_subgraphs=True)]
        other = await client.threads.create()
        flat = [p.event async for p in client.runs.stream(other["thread_id"], "supervisor", input=question,
                                                          stream_mode="updates")]
    assert any(e.startswith("updates|diagnose_workload:") for e in nested)
    assert "updates" in nested
    assert set(flat) == {"metadata", "updates", "end"}
