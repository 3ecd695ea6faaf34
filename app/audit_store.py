"""The tool-call audit log in Postgres: the `AuditSink` the app injects into every ToolExecutor."""

from __future__ import annotations

import re
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from app.observability import TOOL_CALLS

from agents.audit import AuditRow
from agents.safety.redaction import redact, redact_obj

# A model may name a tool that does not exist; only tool-shaped names become metric labels.
TOOL_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
INSERT_ROW = """
INSERT INTO tool_audit (incident_id, cluster, agent, tool, call_id, args, status, message, duration_ms,
                        bytes, truncated, at)
VALUES (%(incident_id)s, %(cluster)s, %(agent)s, %(tool)s, %(call_id)s, %(args)s, %(status)s, %(message)s,
        %(duration_ms)s, %(bytes)s, %(truncated)s, %(at)s)
"""
SELECT_FOR_INCIDENT = """
SELECT incident_id, cluster, agent, tool, call_id, args, status, message, duration_ms, bytes, truncated, at
FROM tool_audit WHERE incident_id = %(incident_id)s ORDER BY id
"""
COUNT_BY_STATUS = """
SELECT status, count(*) AS calls FROM tool_audit WHERE incident_id = %(incident_id)s GROUP BY status
"""


class ToolAuditStore:
    """Writes and reads audit rows; `record` satisfies agents.audit.AuditSink."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]]) -> None:
        self.pool = pool

    async def record(self, row: AuditRow) -> None:
        TOOL_CALLS.labels(row.agent, row.tool if TOOL_NAME.fullmatch(row.tool) else "invalid_name", row.status).inc()
        values = row.model_dump()
        # The executor already redacts; redacting again here keeps the promise for any other writer.
        values["args"] = Jsonb(redact_obj(values["args"]))
        values["message"] = redact(values["message"])
        async with self.pool.connection() as conn:
            await conn.execute(INSERT_ROW, values)

    async def for_incident(self, incident_id: str) -> list[AuditRow]:
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(SELECT_FOR_INCIDENT, {"incident_id": incident_id})).fetchall()
        return [AuditRow.model_validate(row) for row in rows]

    async def counts(self, incident_id: str) -> dict[str, int]:
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(COUNT_BY_STATUS, {"incident_id": incident_id})).fetchall()
        return {row["status"]: row["calls"] for row in rows}
