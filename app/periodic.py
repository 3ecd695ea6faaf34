"""A background task that runs one pass every so often until it is stopped.

Used for the work no event wakes (the approval sweep, PR polling). A failing pass is logged and
the next one tries again: the database or an API blinking must not end the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class PeriodicTask:
    def __init__(self, name: str, interval_seconds: float, step: Callable[[], Awaitable[object]], *,
                 wait_first: bool = False, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.name = name
        self.interval = interval_seconds
        self.step = step
        self.wait_first = wait_first
        self.sleep = sleep
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop; an interval of 0 (or less) leaves it off."""
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"opsgraph-{self.name.replace(' ', '-')}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        if self.wait_first:
            await self.sleep(self.interval)
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s failed: %s; trying again in %g s", self.name, exc, self.interval)
            await self.sleep(self.interval)
