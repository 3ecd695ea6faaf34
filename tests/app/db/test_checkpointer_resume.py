"""LangGraph's Postgres checkpointer on the app's pool: a paused thread resumes on another 'replica'."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from psycopg_pool import AsyncConnectionPool

from app.db.pool import connection_kwargs


class State(TypedDict, total=False):
    steps: list[str]
    decision: str


def _graph(saver: AsyncPostgresSaver, side_effects: list[str]) -> Any:
    def plan(state: State) -> State:
        side_effects.append("plan")
        return {"steps": [*state.get("steps", []), "plan"]}

    def approval_gate(state: State) -> State:
        decision = interrupt({"question": "approve?", "steps": state["steps"]})
        return {"decision": decision}

    def act(state: State) -> State:
        side_effects.append("act")
        return {"steps": [*state["steps"], f"act:{state['decision']}"]}

    builder = StateGraph(State)
    builder.add_node("plan", plan)
    builder.add_node("approval_gate", approval_gate)
    builder.add_node("act", act)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "approval_gate")
    builder.add_edge("approval_gate", "act")
    builder.add_edge("act", END)
    return builder.compile(checkpointer=saver)


async def test_interrupted_thread_resumes_from_a_second_pool(database_url: str) -> None:
    config = {"configurable": {"thread_id": "incident-7"}}
    first_effects: list[str] = []
    async with AsyncConnectionPool(database_url, kwargs=connection_kwargs(False), open=False) as pool:
        graph = _graph(AsyncPostgresSaver(pool), first_effects)  # type: ignore[arg-type]
        result = await graph.ainvoke({"steps": []}, config)
        assert result["__interrupt__"][0].value == {"question": "approve?", "steps": ["plan"]}
    assert first_effects == ["plan"]

    # A different pool (another replica, after a restart) resumes from the checkpoint alone.
    second_effects: list[str] = []
    async with AsyncConnectionPool(database_url, kwargs=connection_kwargs(True), open=False) as pool:
        graph = _graph(AsyncPostgresSaver(pool), second_effects)  # type: ignore[arg-type]
        result = await graph.ainvoke(Command(resume="approve"), config)
    assert result["steps"] == ["plan", "act:approve"]
    assert second_effects == ["act"]  # plan did not run again
