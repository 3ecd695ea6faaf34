"""FeedbackStore: 👍/👎 with an optional comment, one per incident and person (a second vote replaces the first)."""

from __future__ import annotations

from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from app.incidents.errors import IncidentNotFound

Vote = Literal["up", "down"]
UPSERT = """
INSERT INTO incident_feedback (incident_id, user_id, vote, comment) VALUES (%s, %s, %s, %s)
ON CONFLICT (incident_id, user_id) DO UPDATE SET vote = excluded.vote, comment = excluded.comment, at = now()"""
SELECT = "SELECT user_id, vote, comment, at FROM incident_feedback WHERE incident_id = %s ORDER BY at, user_id"
ADD_EVENT = """
INSERT INTO incident_events (incident_id, kind, actor, message, data) VALUES (%s, 'feedback', %s, %s, %s)"""


class FeedbackStore:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]]) -> None:
        self.pool = pool

    async def record(self, incident_id: int, user_id: str, vote: Vote, comment: str | None = None) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            if await (await conn.execute("SELECT 1 FROM incidents WHERE id = %s", (incident_id,))).fetchone() is None:
                raise IncidentNotFound(incident_id)
            await conn.execute(UPSERT, (incident_id, user_id, vote, comment))
            await conn.execute(ADD_EVENT, (incident_id, user_id, f"feedback from {user_id}: {vote}"
                                           + (f": {comment}" if comment else ""), Jsonb({"vote": vote})))

    async def for_incident(self, incident_id: int) -> dict[str, Any]:
        async with self.pool.connection() as conn:
            if await (await conn.execute("SELECT 1 FROM incidents WHERE id = %s", (incident_id,))).fetchone() is None:
                raise IncidentNotFound(incident_id)
            rows = await (await conn.execute(SELECT, (incident_id,))).fetchall()
        return {"up": sum(r["vote"] == "up" for r in rows), "down": sum(r["vote"] == "down" for r in rows),
                "votes": rows}
