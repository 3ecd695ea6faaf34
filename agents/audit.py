"""One audit row per tool call, and the seam through which it is written.

`agents/` states what it needs as the `AuditSink` Protocol; `app/audit_store.py` (`ToolAuditStore`) is
the Postgres implementation the app injects, the way the LangGraph checkpointer is injected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field


class AuditRow(BaseModel):
    """A tool call as the audit log keeps it. `args` and `message` are already redacted."""

    model_config = ConfigDict(frozen=True)

    incident_id: str
    cluster: str
    agent: str
    tool: str
    call_id: str
    args: dict[str, Any]
    status: str  # a ToolStatus value: ok, no_data, error, refused, approval_required
    message: str = ""
    duration_ms: float
    bytes: int
    truncated: bool = False
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class AuditSink(Protocol):
    async def record(self, row: AuditRow) -> None: ...


class MemoryAuditSink:
    """Keeps rows in a list: for tests and for runs without a database (the demo's dry runs)."""

    def __init__(self) -> None:
        self.rows: list[AuditRow] = []

    async def record(self, row: AuditRow) -> None:
        self.rows.append(row)
