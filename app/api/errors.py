"""Errors the edge raises and the one table that maps every domain error to an HTTP answer.

`main.py` registers `EXCEPTION_HANDLERS` once; route handlers carry no try/except chains.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.approvals.store import DecisionRefused
from app.chat.store import RunConflict
from app.db.pool import DATABASE_DOWN
from app.incidents.errors import IllegalTransition, IncidentNotFound

log = logging.getLogger(__name__)


class SafeJSONResponse(JSONResponse):
    """JSON that can carry any string back, a lone surrogate from a request's "\\ud800" included: such a code
    point is written as its JSON escape, where Starlette's strict UTF-8 encoding answered 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":")).encode("utf-8", "backslashreplace")

# Alertmanager backs off on its own; this only hints other clients.
RETRY_AFTER_SECONDS = "5"


class ApiError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthFailed(ApiError):
    status_code = 401


class AuthNotConfigured(ApiError):
    status_code = 503


class PayloadTooLarge(ApiError):
    status_code = 413


class EmptyDelivery(ApiError):
    status_code = 400


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthFailed) else None
    return SafeJSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)


async def _not_found(_request: Request, exc: Exception) -> Response:
    return SafeJSONResponse({"detail": str(exc)}, status_code=404)


async def _conflict(_request: Request, exc: Exception) -> Response:
    return SafeJSONResponse({"detail": str(exc)}, status_code=409)


async def _database_down(request: Request, exc: Exception) -> Response:
    # Nothing of this request was committed; a sender that retries loses nothing.
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path,
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    return SafeJSONResponse({"detail": "database unavailable; nothing was stored, retry later"}, status_code=503,
                        headers={"Retry-After": RETRY_AFTER_SECONDS})


async def _invalid_request(_request: Request, exc: Exception) -> Response:
    """FastAPI's own 422, except that an input which is not UTF-8 is shown with U+FFFD: FastAPI decodes the
    bytes it echoes strictly, and a body that was not UTF-8 answered 500 instead of 422."""
    assert isinstance(exc, RequestValidationError)
    errors = [{**err, "input": err["input"].decode("utf-8", "replace")} if isinstance(err.get("input"), bytes)
              else err for err in exc.errors()]
    return SafeJSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


async def _decision_refused(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DecisionRefused)
    return SafeJSONResponse({"detail": str(exc)}, status_code=exc.status)


EXCEPTION_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
    ApiError: _api_error,
    RequestValidationError: _invalid_request,
    IncidentNotFound: _not_found,
    IllegalTransition: _conflict,
    RunConflict: _conflict,
    DecisionRefused: _decision_refused,
    **{error: _database_down for error in DATABASE_DOWN},
}
