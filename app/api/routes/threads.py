"""Threads and runs in the LangGraph server API's shape, so `langgraph_sdk.get_client(url=...)` works
unchanged. Runs execute on the durable work queue; streams follow their events in Postgres."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agents.human_help import HelpAction, HelpReply
from agents.remediation import ApprovalDecision
from app.api.approver_tokens import decider
from app.api.auth import require_chat_token
from app.api.errors import ApiError
from app.api.routes.alerts import read_limited_body
from app.chat.follow import MODE_EVENTS, follow, sse_frame, wanted_events
from app.chat.service import ASSISTANT_ID, ChatThreads, assistant
from app.chat.store import TERMINAL
from app.chat.wire import to_wire
from app.help.chat import ChatHelpStore

router = APIRouter(tags=["threads"], dependencies=[Depends(require_chat_token)])

MAX_TURN_CHARS = 20_000
MAX_MESSAGES = 20


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class Unprocessable(ApiError):
    status_code = 422


class Forbidden(ApiError):
    status_code = 403


class ThreadCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the SDK sends fields a chat thread has no use for
    thread_id: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    metadata: dict[str, Any] = Field(default_factory=dict)
    if_exists: Literal["raise", "do_nothing"] = "raise"

    @field_validator("thread_id")
    @classmethod
    def _not_an_incident(cls, value: str | None) -> str | None:
        if value is not None and value.isdigit():
            raise ValueError("numeric thread ids are incident threads; leave thread_id out or use letters")
        return value


class TurnMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "human"] | None = None
    type: Literal["human"] | None = None
    content: str = Field(max_length=MAX_TURN_CHARS)


class TurnInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages: list[TurnMessage] = Field(min_length=1, max_length=MAX_MESSAGES)


class ResumeCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resume: Any


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    assistant_id: str = ASSISTANT_ID
    input: TurnInput | None = None
    command: ResumeCommand | None = None
    stream_mode: list[str] | str = "values"
    stream_subgraphs: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    interrupt_before: Any = None
    interrupt_after: Any = None
    webhook: Any = None
    checkpoint: Any = None
    checkpoint_id: Any = None
    after_seconds: Any = None

    @field_validator("stream_mode")
    @classmethod
    def _served(cls, value: list[str] | str) -> list[str] | str:
        unknown = sorted({value} if isinstance(value, str) else set(value)) if value else []
        unknown = [m for m in unknown if m not in MODE_EVENTS]
        if unknown:
            raise ValueError(f"stream modes {unknown} are not served (served: {', '.join(MODE_EVENTS)}; agent "
                             "steps are in custom, tokens in messages-tuple)")
        return value

    def modes(self) -> list[str]:
        return [self.stream_mode] if isinstance(self.stream_mode, str) else list(self.stream_mode)


class ThreadSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: int = Field(default=10, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=100_000)


class HistoryRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: int = Field(default=10, ge=1, le=100)


async def _threads(request: Request) -> ChatThreads:
    threads: ChatThreads = request.app.state.chat
    return threads


Threads = Annotated[ChatThreads, Depends(_threads)]


async def _json_body(request: Request, threads: ChatThreads, model: type[BaseModel]) -> Any:
    """The body, size-capped, as `model`; binary or malformed bodies get one clear 4xx."""
    body = await read_limited_body(request, threads.settings.chat_max_body_bytes)
    if not body.strip():
        return model()
    if b"\\u0000" in body:  # Postgres cannot store NUL in text or jsonb: refuse it here, not with a 500
        raise Unprocessable("invalid request body: NUL characters (\\u0000) are not accepted")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise Unprocessable(f"invalid request body: {problems}") from None


@router.post("/threads")
async def create_thread(request: Request, threads: Threads) -> JSONResponse:
    body: ThreadCreate = await _json_body(request, threads, ThreadCreate)
    cluster = str(body.metadata.get("cluster") or threads.settings.default_cluster)
    if not threads.known_cluster(cluster):
        raise Unprocessable(f"cluster {cluster!r} is not configured (OPSGRAPH_CLUSTERS)")
    row = await threads.store.create_thread(body.thread_id, cluster, body.metadata)
    if row is None:
        if body.if_exists == "raise":
            raise Conflict(f"thread {body.thread_id} already exists")
        assert body.thread_id is not None
        return _json(await threads.thread(body.thread_id))
    return _json(await threads.thread(row["thread_id"]))


@router.post("/threads/search")
async def search_threads(request: Request, threads: Threads) -> JSONResponse:
    body: ThreadSearch = await _json_body(request, threads, ThreadSearch)
    return _json(await threads.search(body.metadata, body.status, body.limit, body.offset))


@router.get("/threads/{thread_id}")
async def get_thread(thread_id: str, threads: Threads) -> JSONResponse:
    thread = await _thread_or_404(threads, thread_id)
    state = await threads.state(thread_id)
    interrupts = {task.id: to_wire(list(task.interrupts)) for task in state.tasks if task.interrupts}
    return _json({**thread, "values": to_wire(state.values), "interrupts": interrupts})


@router.get("/threads/{thread_id}/state")
async def get_state(thread_id: str, threads: Threads) -> JSONResponse:
    await _thread_or_404(threads, thread_id)
    return _json(_state_out(thread_id, await threads.state(thread_id)))


@router.post("/threads/{thread_id}/history")
async def get_history(thread_id: str, request: Request, threads: Threads) -> JSONResponse:
    await _thread_or_404(threads, thread_id)
    body: HistoryRequest = await _json_body(request, threads, HistoryRequest)
    return _json([_state_out(thread_id, s) for s in await threads.history(thread_id, body.limit)])


@router.post("/threads/{thread_id}/runs")
async def create_run(thread_id: str, request: Request, threads: Threads) -> JSONResponse:
    run = await _start_run(thread_id, request, threads)
    return _json(_run_out(run), headers=_location(thread_id, run))


@router.post("/threads/{thread_id}/runs/stream")
async def stream_run(thread_id: str, request: Request, threads: Threads) -> EventSourceResponse:
    run, body = await _start_run(thread_id, request, threads, with_body=True)
    # Where the SDK reconnects after a drop (with Last-Event-ID): the same modes, from where it stopped.
    query = urlencode([("stream_mode", m) for m in body.modes()] + [("stream_subgraphs", str(body.stream_subgraphs))])
    headers = {**_location(thread_id, run), "Location": f"/threads/{thread_id}/runs/{run['run_id']}/stream?{query}"}
    return EventSourceResponse(_frames(threads, request, str(run["run_id"]), body.modes(), body.stream_subgraphs, 0),
                               headers=headers)


@router.post("/threads/{thread_id}/runs/wait")
async def wait_run(thread_id: str, request: Request, threads: Threads) -> JSONResponse:
    run = await _start_run(thread_id, request, threads)
    return _json(await _final_values(threads, str(run["run_id"])), headers=_location(thread_id, run))


@router.get("/threads/{thread_id}/runs")
async def list_runs(thread_id: str, threads: Threads, limit: int = Query(10, ge=1, le=100)) -> JSONResponse:
    await _thread_or_404(threads, thread_id)
    return _json([_run_out(r) for r in await threads.store.runs(thread_id, limit)])


@router.get("/threads/{thread_id}/runs/{run_id}")
async def get_run(thread_id: str, run_id: str, threads: Threads) -> JSONResponse:
    return _json(_run_out(await _run_or_404(threads, thread_id, run_id)))


@router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join_run(thread_id: str, run_id: str, threads: Threads) -> JSONResponse:
    await _run_or_404(threads, thread_id, run_id)
    return _json(await _final_values(threads, run_id))


@router.get("/threads/{thread_id}/runs/{run_id}/stream")
async def join_stream(thread_id: str, run_id: str, request: Request, threads: Threads,
                      stream_mode: Annotated[list[str] | None, Query()] = None, stream_subgraphs: bool = True,
                      last_event_id: Annotated[str | None, Header()] = None) -> EventSourceResponse:
    await _run_or_404(threads, thread_id, run_id)
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    return EventSourceResponse(_frames(threads, request, run_id, stream_mode or [], stream_subgraphs, after))


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel_run(thread_id: str, run_id: str, threads: Threads, wait: int = 0) -> JSONResponse:
    run = await _run_or_404(threads, thread_id, run_id)
    if run["status"] not in TERMINAL:
        await threads.store.cancel_run(run_id, "cancelled over the API")
    if wait:
        await _final_values(threads, run_id)
    return _json(_run_out(await _run_or_404(threads, thread_id, run_id)), status_code=202)


@router.post("/assistants/search")
async def search_assistants() -> JSONResponse:
    return _json([assistant()])


@router.get("/assistants/{assistant_id}")
async def get_assistant(assistant_id: str) -> JSONResponse:
    if assistant_id != ASSISTANT_ID:
        raise NotFound(f"assistant {assistant_id!r} not found (assistants: {ASSISTANT_ID})")
    return _json(assistant())


# --- the parts every route shares ----------------------------------------------------------------

async def _thread_or_404(threads: ChatThreads, thread_id: str) -> dict[str, Any]:
    thread = await threads.thread(thread_id) if len(thread_id) <= 100 else None
    if thread is None:
        raise NotFound(f"thread {thread_id[:100]} not found")
    return thread


async def _run_or_404(threads: ChatThreads, thread_id: str, run_id: str) -> dict[str, Any]:
    run = await threads.store.run(thread_id, run_id)
    if run is None:
        raise NotFound(f"run {run_id[:100]} not found in thread {thread_id[:100]}")
    return run


async def _start_run(thread_id: str, request: Request, threads: ChatThreads, *, with_body: bool = False) -> Any:
    thread = await _thread_or_404(threads, thread_id)
    body: RunCreate = await _json_body(request, threads, RunCreate)
    if body.assistant_id not in (ASSISTANT_ID, _assistant_uuid()):
        raise NotFound(f"assistant {body.assistant_id!r} not found (assistants: {ASSISTANT_ID})")
    unsupported = [f for f in ("interrupt_before", "interrupt_after", "webhook", "checkpoint", "checkpoint_id",
                               "after_seconds") if getattr(body, f) is not None]
    if unsupported:
        raise Unprocessable(f"not supported by opsgraph: {', '.join(unsupported)}")
    if thread["metadata"].get("kind") == "incident":
        raise Conflict(f"thread {thread_id} is incident {thread_id}: its runs belong to the incident workers; "
                       f"decide its approval at POST /incidents/{thread_id}/approval")
    if (body.input is None) == (body.command is None):
        raise Unprocessable("give exactly one of input (a chat turn) or command (resume an interrupt)")
    request_data: dict[str, Any] = {"stream_mode": body.modes(), "metadata": body.metadata}
    if body.input is not None:
        request_data["input"] = {"messages": [{"role": "user", "content": m.content} for m in body.input.messages]}
    else:
        assert body.command is not None
        resume = await _checked_resume(threads, thread_id, body.command.resume, request)
        if isinstance(resume, HelpReply):  # a person's answer: recorded, and its run queued, like a Slack reply
            chat_help: ChatHelpStore = request.app.state.chat_help
            recorded = await chat_help.reply(thread_id, resume, stream_mode=body.modes(), metadata=body.metadata,
                                             require_run=True)
            return (recorded["run"], body) if with_body else recorded["run"]
        request_data["command"] = {"resume": resume}
    run = await threads.store.create_run(thread, request_data)
    return (run, body) if with_body else run


class HelpAnswer(BaseModel):
    """The resume value of a question to a person: their answer (a plain string is the text)."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)
    action: HelpAction = "answer"
    responder: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")


async def _checked_resume(threads: ChatThreads, thread_id: str, value: Any, http: Request) -> Any:
    """A resume answers the interrupt the thread waits on; an approval is checked like the approval API's,
    a person's answer like the help API's (the responder is who is authenticated, as there)."""
    state = await threads.state(thread_id)
    if not state.interrupts:
        raise Conflict(f"thread {thread_id} is not waiting on an interrupt; send a chat turn as input instead")
    request = state.interrupts[0].value
    if isinstance(request, dict) and request.get("kind") == "help":
        try:
            answer = HelpAnswer.model_validate({"text": value} if isinstance(value, str) else value)
        except ValidationError as exc:
            raise Unprocessable("the resume value must be a person's answer ({\"text\": ...} or a string): " + "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()[:5])) from None
        responder = decider(http, threads.settings, answer.responder, allowlist=False)
        return HelpReply(request_id=str(request.get("request_id")), action=answer.action, responder=responder,
                         text=answer.text)
    if isinstance(request, dict) and request.get("kind") == "approval":
        try:
            decision = ApprovalDecision.model_validate(value)
        except ValidationError as exc:
            raise Unprocessable("the resume value must be an approval decision: " + "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])) from None
        if decision.diff_hash != request.get("diff_hash"):
            raise Conflict(f"the decision is for change {decision.diff_hash[:12]}, but the thread waits on "
                           f"{str(request.get('diff_hash'))[:12]}")
        approvers = threads.settings.approver_list
        if approvers and decision.approver not in approvers:
            raise Forbidden(f"{decision.approver} may not decide approvals (OPSGRAPH_APPROVERS)")
        return decision.model_dump(mode="json")
    return to_wire(value)


async def _frames(threads: ChatThreads, request: Request, run_id: str, modes: list[str], subgraphs: bool,
                  after: int) -> AsyncIterator[bytes]:
    wanted = wanted_events(modes)
    async for event in follow(threads.store, threads.database_url, run_id, after=after):
        if await request.is_disconnected():
            return  # the run goes on; join picks it up
        if event is None:
            yield b": keep-alive\n\n"
            continue
        if event.event not in wanted:
            continue
        frame = sse_frame(event, subgraphs=subgraphs)
        if frame is not None:
            yield frame


async def _final_values(threads: ChatThreads, run_id: str) -> Any:
    """Wait for the run's end; its last values (with `__interrupt__` when it paused), or its error."""
    values: Any = None
    async for event in follow(threads.store, threads.database_url, run_id):
        if event is None:  # a keep-alive tick: nothing to send on a plain JSON answer
            continue
        if event.event == "values" and not event.ns:
            values = event.data
        elif event.event == "error":
            values = {"__error__": event.data}
    return values


def _state_out(thread_id: str, snapshot: Any) -> dict[str, Any]:
    configurable = (snapshot.config or {}).get("configurable", {})
    parent = (snapshot.parent_config or {}).get("configurable") if snapshot.parent_config else None
    return {
        "values": to_wire(snapshot.values), "next": list(snapshot.next),
        "tasks": [{"id": t.id, "name": t.name, "error": str(t.error) if t.error else None,
                   "interrupts": to_wire(list(t.interrupts)), "checkpoint": None, "state": None,
                   "result": to_wire(t.result)} for t in snapshot.tasks],
        "checkpoint": {"thread_id": thread_id, "checkpoint_ns": configurable.get("checkpoint_ns", ""),
                       "checkpoint_id": configurable.get("checkpoint_id")},
        "metadata": to_wire(snapshot.metadata or {}), "created_at": snapshot.created_at,
        "parent_checkpoint": ({"thread_id": thread_id, "checkpoint_ns": parent.get("checkpoint_ns", ""),
                               "checkpoint_id": parent.get("checkpoint_id")} if parent else None),
        "interrupts": to_wire(list(snapshot.interrupts)),
    }


def _run_out(run: dict[str, Any]) -> dict[str, Any]:
    request = run["request"] or {}
    return {"run_id": str(run["run_id"]), "thread_id": run["thread_id"], "assistant_id": ASSISTANT_ID,
            "created_at": run["created_at"], "updated_at": run["updated_at"], "status": run["status"],
            "metadata": request.get("metadata") or {}, "multitask_strategy": "reject",
            "kwargs": {"stream_mode": request.get("stream_mode")}, "error": run.get("error")}


def _location(thread_id: str, run: dict[str, Any]) -> dict[str, str]:
    return {"Content-Location": f"/threads/{thread_id}/runs/{run['run_id']}"}


def _assistant_uuid() -> str:
    # The LangGraph server also accepts the assistant's UUID, derived from its graph id.
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, ASSISTANT_ID))


def _json(content: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(to_wire(content), status_code=status_code, headers=headers)

