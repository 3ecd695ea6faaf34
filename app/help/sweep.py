"""The help sweep: remind people of unanswered questions, and mark the ones that waited too long.

Started in the lifespan next to the approval sweep; each pass is two idempotent statements
(`HelpStore.remind_due`, `HelpStore.time_out_due`), so every replica may run it. A chat thread's question
that timed out also tells its chat user, in the same transaction (`ChatHelpStore.resume_timed_out`).
"""

from __future__ import annotations

import logging

from app.help.store import DueRequest, HelpStore, ThreadTimeout
from app.periodic import PeriodicTask

log = logging.getLogger(__name__)


class HelpSweep:
    def __init__(self, store: HelpStore, *, interval_seconds: float, remind_after_seconds: float,
                 timeout_seconds: float, on_thread_timeout: ThreadTimeout | None = None) -> None:
        self.store = store
        self.remind_after = remind_after_seconds
        self.timeout = timeout_seconds
        self.on_thread_timeout = on_thread_timeout
        self._task = PeriodicTask("help sweep", interval_seconds, self.sweep, wait_first=True)

    async def sweep(self) -> tuple[list[DueRequest], list[DueRequest]]:
        """One pass: (questions reminded, questions that timed out)."""
        reminded = await self.store.remind_due(self.remind_after)
        timed_out = await self.store.time_out_due(self.timeout, self.on_thread_timeout)
        for due in timed_out:
            if due.incident_id is not None:
                log.info("incident %s: no reply to its help request in time; it needs a person", due.incident_id,
                         extra={"incident": due.incident_id})
            else:
                log.info("chat thread %s: no reply to %s in time; its user was told", due.thread_id, due.request_id)
        return reminded, timed_out

    async def start(self) -> None:
        await self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
