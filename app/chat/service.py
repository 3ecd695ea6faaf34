"""ChatThreads: what the thread routes need, opened in the lifespan: the store, the settings, and the
supervisor compiled with the checkpointer to read thread state (incident threads included)."""

from __future__ import annotations

from datetime import UTC, datetime
from collections.abc import Callable
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from app.chat.store import ChatStore
from app.incidents.store import IncidentStore
from app.settings import Settings
from graphs.supervisor import run_config

ASSISTANT_ID = "supervisor"
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
INCIDENT_THREAD_STATUS = {"diagnosing": "busy", "remediating": "busy", "awaiting_approval": "interrupted",
                          "failed": "error"}


class ChatThreads:
    def __init__(self, store: ChatStore, incidents: IncidentStore, settings: Settings,
                 pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]], known_cluster: Callable[[str], bool],
                 database_url: str) -> None:
        self.store = store
        self.database_url = database_url  # followers LISTEN on their own connection
        self.incidents = incidents
        self.settings = settings
        self.pool = pool
        self.known_cluster = known_cluster
        self._graph: Any = None

    @property
    def graph(self) -> Any:
        """Compiled on first use: the routes only read checkpoints with it, they never run it."""
        if self._graph is None:
            from app.runner import IncidentTimeline, build_toolbox, chat_setup, remediation_setup
            from graphs.supervisor import build_supervisor_graph

            toolbox = build_toolbox(self.settings, None)
            self._graph = build_supervisor_graph(toolbox, IncidentTimeline(self.incidents),
                                                 AsyncPostgresSaver(self.pool),  # type: ignore[arg-type]
                                                 remediation=remediation_setup(self.settings, toolbox),
                                                 chat=chat_setup(self.settings))
        return self._graph

    async def thread(self, thread_id: str) -> dict[str, Any] | None:
        """The thread as the LangGraph server shows it; an incident id is its incident's thread."""
        if thread_id.isdigit():
            incident = await self._incident(int(thread_id))
            if incident is None:
                return None
            return {"thread_id": thread_id, "created_at": incident["created_at"], "updated_at": incident["updated_at"],
                    "metadata": {"kind": "incident", "incident_id": incident["id"], "cluster": incident["cluster"],
                                 "title": incident["title"], "status": incident["status"]},
                    "status": INCIDENT_THREAD_STATUS.get(incident["status"], "idle"), "values": None,
                    "interrupts": {}}
        row = await self.store.thread(thread_id)
        if row is None:
            return None
        return {"thread_id": row["thread_id"], "created_at": row["created_at"], "updated_at": row["updated_at"],
                "metadata": {**row["metadata"], "cluster": row["cluster"]}, "status": row["status"], "values": None,
                "interrupts": {}}

    async def search(self, metadata: dict[str, Any], status: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
        """Chat threads, newest first (incidents are listed at GET /incidents)."""
        rows = await self.store.search_threads(metadata, status, limit, offset)
        return [{"thread_id": r["thread_id"], "created_at": r["created_at"], "updated_at": r["updated_at"],
                 "metadata": {**r["metadata"], "cluster": r["cluster"]}, "status": r["status"], "values": None,
                 "interrupts": {}} for r in rows]

    async def state(self, thread_id: str) -> Any:
        return await self.graph.aget_state(run_config(thread_id, _budgets(self.settings)))

    async def history(self, thread_id: str, limit: int) -> list[Any]:
        return [s async for s in self.graph.aget_state_history(run_config(thread_id, _budgets(self.settings)),
                                                                 limit=limit)]

    async def _incident(self, incident_id: int) -> dict[str, Any] | None:
        async with self.pool.connection() as conn:
            return await (await conn.execute(
                "SELECT id, cluster, title, status, created_at, updated_at FROM incidents WHERE id = %s",
                (incident_id,))).fetchone()


def _budgets(settings: Settings) -> Any:
    from app.runner import budgets_from

    return budgets_from(settings)


def assistant() -> dict[str, Any]:
    return {"assistant_id": ASSISTANT_ID, "graph_id": ASSISTANT_ID, "name": "opsgraph supervisor",
            "description": "Routes chat turns to QA, Diagnostics, YAML or Remediation; incidents are threads too.",
            "config": {}, "context": {}, "metadata": {}, "version": 1, "created_at": _EPOCH, "updated_at": _EPOCH}
