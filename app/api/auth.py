"""Router-level credential checks: the webhook's token (bearer or basic) and the API token."""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import Request
from pydantic import SecretStr

from app.api.deps import SettingsDep
from app.api.errors import AuthFailed, AuthNotConfigured


def _matches(presented: str, secret: SecretStr) -> bool:
    # Constant time: the comparison must not tell an attacker how much of the token was right.
    return hmac.compare_digest(presented.encode(), secret.get_secret_value().encode())


def _presented_secret(request: Request, *, allow_basic: bool) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if allow_basic and scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        # Alertmanager's basic_auth sends username:password; the password carries the token.
        return decoded.partition(":")[2] or None
    return None


async def require_webhook_token(request: Request, settings: SettingsDep) -> None:
    """Alertmanager's http_config can send `authorization` (Bearer) or `basic_auth`; accept both."""
    if settings.webhook_token is None:
        raise AuthNotConfigured("the Alertmanager webhook is disabled: OPSGRAPH_WEBHOOK_TOKEN is not configured")
    presented = _presented_secret(request, allow_basic=True)
    if presented is None or not _matches(presented, settings.webhook_token):
        raise AuthFailed("missing or wrong webhook credentials (Bearer token or basic-auth password)")


async def require_chat_token(request: Request, settings: SettingsDep) -> None:
    """The API token, as a Bearer token or as `x-api-key` (what `langgraph_sdk.get_client(api_key=...)` sends)."""
    if settings.api_token is None:
        raise AuthNotConfigured("the chat API is disabled: OPSGRAPH_API_TOKEN is not configured")
    presented = _presented_secret(request, allow_basic=False) or request.headers.get("x-api-key") or None
    if presented is None or not _matches(presented, settings.api_token):
        raise AuthFailed("missing or wrong API token (Authorization: Bearer <OPSGRAPH_API_TOKEN>)")


async def require_api_token(request: Request, settings: SettingsDep) -> None:
    if settings.api_token is None:
        raise AuthNotConfigured("the incident API is disabled: OPSGRAPH_API_TOKEN is not configured")
    presented = _presented_secret(request, allow_basic=False)
    if presented is None or not _matches(presented, settings.api_token):
        raise AuthFailed("missing or wrong API token (Authorization: Bearer <OPSGRAPH_API_TOKEN>)")
