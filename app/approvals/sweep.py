"""The approval sweep: pending approvals past their expiry go to a person without waiting for a click.

A background task started in the lifespan next to the workers. Each pass is one idempotent UPDATE
(`ApprovalStore.expire_due`), so every replica may run it: two passes at once move each incident once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.approvals.store import ApprovalStore

log = logging.getLogger(__name__)


class ApprovalSweep:
    def __init__(self, store: ApprovalStore, interval_seconds: float) -> None:
        self.store = store
        self.interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> list[int]:
        """One pass: the incidents whose pending approval expired, now awaiting a person."""
        expired = await self.store.expire_due()
        for incident_id in expired:
            log.info("approval request of incident %s expired; a person must look again", incident_id,
                     extra={"incident": incident_id})
        return expired

    async def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="opsgraph-approval-sweep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: the next pass tries again
                log.warning("approval sweep failed: %s; trying again in %g s", exc, self.interval)
