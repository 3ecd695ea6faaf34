"""The approval sweep: pending approvals past their expiry go to a person without waiting for a click.

A background task started in the lifespan next to the workers. Each pass is one idempotent UPDATE
(`ApprovalStore.expire_due`), so every replica may run it: two passes at once move each incident once.
"""

from __future__ import annotations

import logging

from app.approvals.store import ApprovalStore
from app.periodic import PeriodicTask

log = logging.getLogger(__name__)


class ApprovalSweep:
    def __init__(self, store: ApprovalStore, interval_seconds: float) -> None:
        self.store = store
        # Expiries are hours out: the first pass can wait one interval after start-up.
        self._task = PeriodicTask("approval sweep", interval_seconds, self.sweep, wait_first=True)

    async def sweep(self) -> list[int]:
        """One pass: the incidents whose pending approval expired, now awaiting a person."""
        expired = await self.store.expire_due()
        for incident_id in expired:
            log.info("approval request of incident %s expired; a person must look again", incident_id,
                     extra={"incident": incident_id})
        return expired

    async def start(self) -> None:
        await self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
