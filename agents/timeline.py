"""The seam through which graph steps reach the incident timeline.

`agents/` and `graphs/` state what they need as this Protocol; `app/` supplies the Postgres
implementation (the incident store) in its lifespan, the way the checkpointer is injected.
"""

from __future__ import annotations

from typing import Any, Protocol


class Timeline(Protocol):
    async def add(self, incident_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None: ...


class MemoryTimeline:
    """Keeps entries in a list: for tests, `opsgraph diagnose` and runs without a database."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str, dict[str, Any]]] = []

    async def add(self, incident_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        self.entries.append((incident_id, kind, message, dict(data or {})))

    def kinds(self, incident_id: str | None = None) -> list[str]:
        return [kind for iid, kind, _, _ in self.entries if incident_id in (None, iid)]
