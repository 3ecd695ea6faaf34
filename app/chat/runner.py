"""ChatRunRunner: what a worker calls with a `chat_run` work item. It streams the run of the supervisor
and writes every chunk as a run event, so followers (a stream, a join, a reconnect) read it from Postgres
and a client that goes away changes nothing about the run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from langgraph.types import Command

from agents.context import Budgets, Context
from agents.errors import TemporaryError
from app.chat.store import TERMINAL, ChatStore
from app.chat.wire import to_wire
from app.help.chat import ChatHelpStore
from app.incidents.queue import RunOutcome, WorkItem
from graphs.supervisor import run_config

log = logging.getLogger(__name__)

# Every mode is recorded; each follower picks the ones it asked for.
STREAM_MODES = ["values", "updates", "messages", "custom"]


ContextFor = Callable[[str, str], Context | None]  # (thread id, cluster id) -> the run's context


class ChatRunRunner:
    def __init__(self, store: ChatStore, graph: Any, context_for: ContextFor, budgets: Budgets,
                 help_store: ChatHelpStore | None = None) -> None:
        self.store = store
        self.graph = graph  # the supervisor, compiled with the Postgres checkpointer
        self.context_for = context_for
        self.budgets = budgets
        self.help = help_store  # records the questions a thread asks a person (graphs/chat.py ask_person)

    async def run(self, item: WorkItem, *, resume: bool) -> RunOutcome:
        assert item.run_id is not None
        run = await self.store.run_by_id(item.run_id)
        if run is None:
            return RunOutcome.failed(f"run {item.run_id} no longer exists")
        if run["status"] in TERMINAL:
            return RunOutcome.done(f"run {item.run_id} already {run['status']}")
        run_id = str(run["run_id"])
        events = EventLog(self.store, run_id, await self.store.last_seq(run_id))
        try:
            return await self._run(run, item, events, resume)
        finally:
            await asyncio.shield(events.close())

    async def _run(self, run: dict[str, Any], item: WorkItem, events: EventLog, resume: bool) -> RunOutcome:
        run_id, thread_id = str(run["run_id"]), run["thread_id"]
        context = self.context_for(thread_id, run["cluster"])
        await events.add("metadata", "", {"run_id": run_id, "attempt": item.attempt})
        if context is None:
            return await self._fail(events, run_id, f"cluster {run['cluster']!r} is not configured")
        await self.store.start_run(run_id)
        config = run_config(thread_id, self.budgets)
        graph_input = await self._input(run["request"], config, resume)
        while True:
            try:
                async with asyncio.timeout(self.budgets.wall_clock_seconds * 1.5 + 30):
                    async for ns, mode, chunk in self.graph.astream(graph_input, config, context=context,
                                                                     stream_mode=STREAM_MODES, subgraphs=True,
                                                                     durability="sync"):
                        if mode == "values" and "__interrupt__" in chunk:
                            continue  # the final values below carry the interrupts, as the server's do
                        await events.add(mode, "|".join(ns), to_wire(list(chunk) if mode == "messages" else chunk))
            except TemporaryError as exc:
                return RunOutcome.retry(f"run {run_id}: {exc}", exc.delay)
            except Exception as exc:  # outside the graph: any failure ends this run with an error event, once
                return await self._fail(events, run_id, f"{type(exc).__name__}: {exc}")
            snapshot = await self.graph.aget_state(config)
            values = to_wire(snapshot.values)
            if snapshot.interrupts:
                values["__interrupt__"] = to_wire(list(snapshot.interrupts))
            await events.add("values", "", values)  # written at once, after every token before it
            question = _help_question(snapshot)
            if question is None or self.help is None:
                await self.store.finish_run(run_id, "success",
                                            thread_status="interrupted" if snapshot.interrupts else "idle")
                break
            # Waiting on a person: the question is recorded (and so posted); a reply that came while this
            # run was live found nothing to queue, so this run carries it on instead of ending.
            await self.help.ask(thread_id, question)
            reply = await self.help.finish_waiting(run_id, thread_id, question["request_id"])
            if reply is None:
                break
            graph_input = Command(resume=reply.model_dump(mode="json"))
        await events.add("end", "", None)
        return RunOutcome.done(f"run {run_id} " + ("interrupted" if snapshot.interrupts else "finished"))

    async def _input(self, request: dict[str, Any], config: Any, resume: bool) -> Any:
        if resume:  # an earlier attempt checkpointed part of the run: continue it rather than repeat it
            snapshot = await self.graph.aget_state(config)
            if snapshot.next and not snapshot.interrupts:
                return None
        if request.get("command") is not None:
            return Command(resume=request["command"]["resume"])
        return request.get("input")

    async def _fail(self, events: EventLog, run_id: str, message: str) -> RunOutcome:
        log.warning("chat run %s failed: %s", run_id, message)
        await events.add("error", "", {"error": "RunError", "message": message})
        await self.store.finish_run(run_id, "error", error=message, thread_status="error")
        await events.add("end", "", None)
        return RunOutcome.failed(message)


def _help_question(snapshot: Any) -> dict[str, Any] | None:
    """The question to a person the thread's graph waits on, or None (not waiting, or on an approval)."""
    for pending in snapshot.interrupts:
        if isinstance(pending.value, dict) and pending.value.get("kind") == "help":
            return dict(pending.value)
    return None


class EventLog:
    """Appends a run's events in order from where an earlier attempt stopped.

    Tokens are written in small batches (at most `BATCH` events or `FLUSH_SECONDS` old): one row and
    one NOTIFY per token costs more than the model's own pace (`opsgraph bench chat`). Every other
    event is written at once, after the tokens before it.
    """

    BATCH = 64
    FLUSH_SECONDS = 0.02

    def __init__(self, store: ChatStore, run_id: str, last_seq: int) -> None:
        self.store = store
        self.run_id = run_id
        self.seq = last_seq
        self._pending: list[tuple[str, str, Any]] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    async def add(self, event: str, ns: str, data: Any) -> None:
        self._pending.append((event, ns, data))
        if event != "messages" or len(self._pending) >= self.BATCH:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._flush_soon())

    async def flush(self) -> None:
        async with self._lock:
            batch, self._pending = self._pending, []
            if batch:
                await self.store.add_events(self.run_id, self.seq + 1, batch)
                self.seq += len(batch)

    async def close(self) -> None:
        """Stop the timer and write what is left (also when the run was cancelled)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.flush()

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.FLUSH_SECONDS)
        self._timer = None
        await self.flush()
