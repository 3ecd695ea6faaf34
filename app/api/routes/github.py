"""POST /webhooks/github: GitHub's pull_request events in; merges start a verification, closes are rejections.

Every request is signed (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body with the webhook secret),
checked in constant time by a router-level dependency before anything is parsed. A delivery is
recorded once by its `X-GitHub-Delivery` id, so GitHub's redeliveries answer the same and change nothing.
Answers: 200 when the event was applied (or was a redelivery), 202 when it concerns no incident.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from app.api.deps import SettingsDep
from app.api.errors import AuthFailed, AuthNotConfigured
from app.api.routes.alerts import read_limited_body
from app.incidents.pull_requests import PullRequestChange, PullRequestStore

SIGNATURE_HEADER = "x-hub-signature-256"
# Pull request numbers are stored as Postgres `integer`; a larger one is no GitHub pull request (422, not 500).
PullRequestNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]


async def require_github_signature(request: Request, settings: SettingsDep) -> None:
    """Read the body (size-limited), check its signature, and keep it for the handler."""
    secret = settings.github_webhook_secret
    if secret is None:
        raise AuthNotConfigured("the GitHub webhook is disabled: OPSGRAPH_GITHUB_WEBHOOK_SECRET is not configured")
    body = await read_limited_body(request, settings.webhook_max_body_bytes)
    expected = "sha256=" + hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    presented = request.headers.get(SIGNATURE_HEADER, "")
    # Constant time: the comparison must not tell a forger how much of the signature was right.
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise AuthFailed("missing or wrong X-Hub-Signature-256 (HMAC-SHA256 of the body with the webhook secret)")
    request.state.github_body = body


router = APIRouter(prefix="/webhooks", tags=["github"], dependencies=[Depends(require_github_signature)])


async def _pull_requests(request: Request) -> PullRequestStore:
    store: PullRequestStore = request.app.state.pull_requests
    return store


PullRequests = Annotated[PullRequestStore, Depends(_pull_requests)]


class Ref(BaseModel):
    ref: str
    sha: str | None = None


class Login(BaseModel):
    login: str


class PullRequestPayload(BaseModel):
    number: PullRequestNumber
    state: str
    html_url: str = ""
    merged: bool | None = None
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    merged_by: Login | None = None
    head: Ref
    base: Ref


class Repository(BaseModel):
    full_name: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")


class PullRequestEvent(BaseModel):
    """The parts of GitHub's `pull_request` event opsgraph reads (other fields are ignored)."""

    action: str
    number: PullRequestNumber
    pull_request: PullRequestPayload
    repository: Repository
    sender: Login | None = None


class PingEvent(BaseModel):
    zen: str | None = None
    hook_id: int | None = None


class GitHubDeliveryOut(BaseModel):
    outcome: Literal["pong", "verifying", "rejected", "unchanged", "ignored", "duplicate"]
    incident_id: int | None = None
    message: str


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in errors]) from None


@router.post("/github", response_model=GitHubDeliveryOut, responses={202: {"model": GitHubDeliveryOut}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"title": "GitHubWebhookPayload", "type": "object",
                            "description": "A GitHub webhook delivery (ping or pull_request)"}}}}})
async def receive_github(request: Request, response: Response, pull_requests: PullRequests) -> GitHubDeliveryOut:
    body: bytes = request.state.github_body
    event = request.headers.get("x-github-event", "")
    delivery = request.headers.get("x-github-delivery") or "sha256:" + hashlib.sha256(body).hexdigest()
    if event == "ping":
        _parse(PingEvent, body)
        return GitHubDeliveryOut(outcome="pong", message="webhook reachable and signed correctly")
    response.status_code = status.HTTP_202_ACCEPTED
    if event != "pull_request":
        return GitHubDeliveryOut(outcome="ignored", message=f"{event or 'unnamed'} events are not used; ignored")
    payload = _parse(PullRequestEvent, body)
    if payload.action != "closed":
        return GitHubDeliveryOut(outcome="ignored", message=f"pull_request {payload.action} changes nothing")
    pr = payload.pull_request
    merged = bool(pr.merged or pr.merged_at)
    change = PullRequestChange(
        repo=payload.repository.full_name, number=pr.number, head=pr.head.ref, url=pr.html_url, state="closed",
        merged=merged, merge_commit=pr.merge_commit_sha if merged else None,
        merged_by=pr.merged_by.login if pr.merged_by else None, merged_at=pr.merged_at,
        closed_by=payload.sender.login if payload.sender else None)
    recorded = await pull_requests.record(change, delivery=delivery, event=event, action=payload.action)
    if recorded.outcome != "ignored":
        response.status_code = status.HTTP_200_OK
    return GitHubDeliveryOut(outcome=recorded.outcome, incident_id=recorded.incident_id, message=recorded.message)
