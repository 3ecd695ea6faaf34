"""HumanHelp for chat threads over HTTP: read the question a chat thread waits on, answer it.

The answer is recorded once (a second gets 409 naming the first) and queues the run that resumes the
thread; the chat user gets it as the assistant's next message. Slack's Reply modal and a LangGraph
`Command(resume=...)` run on the thread take the same path (`app.help.chat.ChatHelpStore.reply`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, ValidationError

from agents.human_help import HelpAction, HelpReply
from app.api.approver_tokens import decider
from app.api.auth import require_api_token
from app.api.deps import SettingsDep
from app.api.routes.alerts import read_limited_body
from app.approvals.store import DecisionRefused
from app.help.chat import ChatHelpStore

router = APIRouter(prefix="/threads", tags=["human help"], dependencies=[Depends(require_api_token)])


class ThreadReplyIn(BaseModel):
    request_id: str = Field(min_length=1, max_length=200, description="The question answered, from GET .../help.")
    action: HelpAction = Field(default="answer", description="`answer` for a chat question (the text goes to the "
                                                              "chat user); a diagnosis's question lists its own.")
    responder: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$",
                                  description="Who replies; with OPSGRAPH_APPROVER_TOKENS the owner of X-Approver-Token.")
    text: str = Field(min_length=1, max_length=4000)


class ThreadReplyOut(BaseModel):
    thread_id: str
    request_id: str
    action: str
    responder: str
    run_id: str | None = Field(description="The run that resumes the thread (None: a live run carries the reply on).")


def _store(request: Request) -> ChatHelpStore:
    store: ChatHelpStore = request.app.state.chat_help
    return store


@router.get("/{thread_id}/help", responses={404: {}})
async def thread_help_request(thread_id: str, request: Request) -> Any:
    """The chat thread's last question to a person (reason, the user's question, what the agent tried) and
    its reply, if any."""
    latest = await _store(request).latest(thread_id[:200])
    if latest is None:
        raise DecisionRefused(404, f"thread {thread_id[:100]} has not asked for help")
    return latest


@router.post("/{thread_id}/help", status_code=202, response_model=ThreadReplyOut,
             responses={403: {}, 404: {}, 409: {}, 413: {}, 422: {}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": ThreadReplyIn.model_json_schema()}}}})
async def reply_in_thread(thread_id: str, request: Request, settings: SettingsDep) -> Any:
    # Read and validated here, size-capped like a chat turn: binary or malformed bodies get one clear 422.
    raw = await read_limited_body(request, settings.chat_max_body_bytes)
    try:
        body = ThreadReplyIn.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise DecisionRefused(422, f"invalid request body: {problems}") from None
    responder = decider(request, settings, body.responder, allowlist=False)
    recorded = await _store(request).reply(thread_id[:200], HelpReply(**{**body.model_dump(), "responder": responder}))
    run = recorded.pop("run")
    return {**recorded, "run_id": str(run["run_id"]) if run else None}
