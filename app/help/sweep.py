"""The help sweep: remind people of unanswered questions, and mark the ones that waited too long.

Started in the lifespan next to the approval sweep; each pass is two idempotent statements
(`HelpStore.remind_due`, `HelpStore.time_out_due`), so every replica may run it.
"""

from __future__ import annotations

import logging

from app.help.store import HelpStore
from app.periodic import PeriodicTask

log = logging.getLogger(__name__)


class HelpSweep:
    def __init__(self, store: HelpStore, *, interval_seconds: float, remind_after_seconds: float,
                 timeout_seconds: float) -> None:
        self.store = store
        self.remind_after = remind_after_seconds
        self.timeout = timeout_seconds
        self._task = PeriodicTask("help sweep", interval_seconds, self.sweep, wait_first=True)

    async def sweep(self) -> tuple[list[int], list[int]]:
        """One pass: (incidents reminded, incidents whose question timed out)."""
        reminded = await self.store.remind_due(self.remind_after)
        timed_out = await self.store.time_out_due(self.timeout)
        for incident_id in timed_out:
            log.info("incident %s: no reply to its help request in time; it needs a person", incident_id,
                     extra={"incident": incident_id})
        return reminded, timed_out

    async def start(self) -> None:
        await self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
