"""Slack's HTTP endpoints (HTTP mode): Bolt verifies the signature and timestamp and runs the listeners."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

router = APIRouter(prefix="/slack", tags=["slack"])

MAX_BODY = 256 * 1024  # Slack's interaction payloads are a few kilobytes; a modal's state stays well under this


async def _handle(request: Request) -> Response:
    side = getattr(request.app.state, "slack", None)
    if side is None or request.app.state.settings.slack_mode != "http":
        return JSONResponse({"detail": "Slack (HTTP mode) is not configured on this service"}, status_code=404)
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_BODY:
        return JSONResponse({"detail": f"a Slack request needs a Content-Length of at most {MAX_BODY} bytes"},
                            status_code=413)
    response: Response = await side.handler.handle(request)
    return response


@router.post("/interactions")
async def interactions(request: Request) -> Response:
    """Button clicks and modal submissions (Slack's Interactivity request URL)."""
    return await _handle(request)


@router.post("/commands")
async def commands(request: Request) -> Response:
    """The `/opsgraph` slash command."""
    return await _handle(request)
