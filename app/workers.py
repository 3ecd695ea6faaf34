"""The worker pool: N async workers per process drain the intake queue into an IncidentRunner.

Two lanes (see `app.incidents.queue.WATCH_KINDS`): `workers` claim incident work (diagnose,
resume, ...) within the per-cluster limit; `verify_workers` claim only the items that watch a
merged fix, which sleep between looks for minutes and must not hold a slot diagnosis needs.

Workers sleep until Postgres NOTIFYs them (a work item was committed) or the poll interval passes
(a lost notification, an expired lease, a retry coming due). A claimed item's lease is extended by
a heartbeat; when the heartbeat finds the item is no longer ours (cancelled, or re-claimed after
a partition) the run is cancelled, so no item ever runs twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any, Protocol

from psycopg import AsyncConnection

from app.incidents.queue import NOTIFY_CHANNEL, Claim, IntakeQueue, Lane, RunOutcome, WorkItem
from app.observability import WORK_ATTEMPT_SECONDS

log = logging.getLogger(__name__)

LISTEN_RETRY_SECONDS = 2.0


class IncidentRunner(Protocol):
    """What a worker hands a claimed item to; the LangGraph supervisor implements it.

    `resume` is True when an earlier attempt started (it crashed, was killed, or asked for a
    retry): the runner continues the thread (thread id = incident id) from its last checkpoint
    instead of starting over. Raising is an unexpected failure and is retried with back-off.
    """

    async def run(self, item: WorkItem, *, resume: bool) -> RunOutcome: ...


class WorkerPool:
    def __init__(self, queue: IntakeQueue, runner: IncidentRunner, *, database_url: str, workers: int,
                 poll_seconds: float, verify_workers: int = 1, name: str | None = None) -> None:
        self.queue = queue
        self.runner = runner
        self.database_url = database_url
        self.size = workers
        self.verify_size = verify_workers
        self.poll_seconds = poll_seconds
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = asyncio.Condition()
        self._generation = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._listen(), name="opsgraph-listen"))
        for n in range(self.size):
            self._tasks.append(asyncio.create_task(self._work(f"{self.name}/w{n}", "incidents"),
                                                   name=f"opsgraph-worker-{n}"))
        for n in range(self.verify_size):
            self._tasks.append(asyncio.create_task(self._work(f"{self.name}/v{n}", "watch"),
                                                   name=f"opsgraph-verify-worker-{n}"))
        log.info("workers started", extra={"workers": self.size, "verify_workers": self.verify_size,
                                           "pool": self.name})

    async def stop(self) -> None:
        """Cancel the workers; each releases its item so another replica resumes it at once."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def wake(self) -> None:
        async with self._wake:
            self._generation += 1
            self._wake.notify_all()

    async def _listen(self) -> None:
        """LISTEN on a dedicated connection (a pooled one would lose the subscription when returned)."""
        while not self._stopping:
            try:
                conn = await AsyncConnection.connect(self.database_url, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    await self.wake()  # anything committed while we were not listening
                    async for _ in conn.notifies():
                        await self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away; the poll keeps workers going meanwhile
                log.warning("work notifications lost: %s; listening again in %s s", exc, LISTEN_RETRY_SECONDS)
                await asyncio.sleep(LISTEN_RETRY_SECONDS)

    async def _wait_for_work(self, seen_generation: int) -> None:
        async with self._wake:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait_for(lambda: self._generation != seen_generation), self.poll_seconds)

    async def _work(self, worker: str, lane: Lane) -> None:
        while not self._stopping:
            generation = self._generation
            try:
                claim = await self.queue.claim(worker, lane)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("worker %s could not claim work: %s; trying again at the next poll", worker, exc)
                claim = None
            if claim is None:
                await self._wait_for_work(generation)
                continue
            await self._run(claim)

    async def _run(self, claim: Claim) -> None:
        item = claim.item
        run = asyncio.create_task(self._call_runner(claim), name=f"opsgraph-run-{item.id}")
        beat = asyncio.create_task(self._heartbeat(item, run), name=f"opsgraph-heartbeat-{item.id}")
        try:
            with WORK_ATTEMPT_SECONDS.labels(item.kind).time():
                outcome = await run
        except asyncio.CancelledError:
            if run.cancelled() and not self._stopping:
                log.warning("incident %s: the item is no longer ours (cancelled or re-claimed); run stopped",
                            item.incident_id)
                return
            # Shutting down: hand the item back so another worker resumes it without waiting out the lease.
            run.cancel()
            with contextlib.suppress(Exception):
                await asyncio.shield(self.queue.release(item))
            raise
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        try:
            await self.queue.finish(item, outcome)
        except Exception as exc:  # the lease runs out and another worker resumes the item
            log.warning("incident %s: outcome not recorded: %s; the item is resumed when its lease expires",
                        item.incident_id, exc)

    async def _call_runner(self, claim: Claim) -> RunOutcome:
        try:
            return await self.runner.run(claim.item, resume=claim.resume)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("incident %s: runner raised", claim.item.incident_id)
            return RunOutcome.retry(f"{type(exc).__name__}: {exc}")

    async def _heartbeat(self, item: WorkItem, run: asyncio.Task[Any]) -> None:
        interval = self.queue.policy.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                ours = await self.queue.heartbeat(item)
            except Exception as exc:  # a short database blip: the next beat may still make it in time
                log.warning("incident %s: heartbeat failed: %s", item.incident_id, exc)
                continue
            if not ours:
                run.cancel()
                return
