"""A real IncidentRunner for tests: a small LangGraph StateGraph on the app's Postgres checkpointer.

investigate (a side effect that must never repeat) → wait_for_release (blocks until a file exists,
so a test can kill the process mid-run) → conclude. Thread id = incident id, as in production.
Every call and every node's side effect is a row in the probe tables, which tests count.
"""

from __future__ import annotations

import asyncio
import operator
import os
from pathlib import Path
from typing import Annotated, Any, TypedDict

import psycopg
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from app.incidents.queue import RunOutcome, WorkItem
from app.incidents.status import IncidentStatus
from app.incidents.store import IncidentStore

PROBE_TABLES = """
CREATE TABLE IF NOT EXISTS probe_runner_calls (incident_id bigint, resume boolean, pid int, at timestamptz DEFAULT now());
CREATE TABLE IF NOT EXISTS probe_side_effects (incident_id bigint, node text, pid int, at timestamptz DEFAULT now());
"""


def create_probe_tables(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(PROBE_TABLES)


class State(TypedDict):
    incident_id: int
    steps: Annotated[list[str], operator.add]


def build_probe_graph(pool: Any, store: IncidentStore | None, release_file: Path | None,
                      resolve_on_finish: bool) -> CompiledStateGraph[Any]:
    async def record(incident_id: int, node: str) -> None:
        async with pool.connection() as conn:
            await conn.execute("INSERT INTO probe_side_effects (incident_id, node, pid) VALUES (%s, %s, %s)",
                               (incident_id, node, os.getpid()))

    async def investigate(state: State) -> dict[str, Any]:
        await record(state["incident_id"], "investigate")
        return {"steps": ["investigate"]}

    async def wait_for_release(state: State) -> dict[str, Any]:
        await record(state["incident_id"], "waiting")
        while release_file is not None and not release_file.exists():
            await asyncio.sleep(0.05)  # the runner's own blocking condition, not test synchronisation
        return {"steps": ["released"]}

    async def conclude(state: State) -> dict[str, Any]:
        await record(state["incident_id"], "conclude")
        if resolve_on_finish and store is not None:
            await store.transition(state["incident_id"], IncidentStatus.RESOLVED, actor="probe-graph",
                                   message="probe graph concluded")
        return {"steps": ["concluded"]}

    graph = StateGraph(State)
    graph.add_node("investigate", investigate)
    graph.add_node("wait_for_release", wait_for_release)
    graph.add_node("conclude", conclude)
    graph.add_edge(START, "investigate")
    graph.add_edge("investigate", "wait_for_release")
    graph.add_edge("wait_for_release", "conclude")
    graph.add_edge("conclude", END)
    return graph.compile(checkpointer=AsyncPostgresSaver(pool))


class ProbeGraphRunner:
    def __init__(self, pool: Any, store: IncidentStore | None, *, release_file: Path | None = None,
                 resolve_on_finish: bool = False) -> None:
        self.pool = pool
        self.graph = build_probe_graph(pool, store, release_file, resolve_on_finish)

    async def run(self, item: WorkItem, *, resume: bool) -> RunOutcome:
        async with self.pool.connection() as conn:
            await conn.execute("INSERT INTO probe_runner_calls (incident_id, resume, pid) VALUES (%s, %s, %s)",
                               (item.incident_id, resume, os.getpid()))
        config: Any = {"configurable": {"thread_id": item.thread_id}}
        state = await self.graph.aget_state(config)
        if resume and state.next:  # continue from the last checkpoint: finished nodes do not run again
            await self.graph.ainvoke(None, config, durability="sync")
        elif not state.values:
            await self.graph.ainvoke({"incident_id": item.incident_id, "steps": []}, config, durability="sync")
        return RunOutcome.done(f"probe graph finished (resume={resume})")
