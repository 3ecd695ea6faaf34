"""Who decides over the HTTP API: with `OPSGRAPH_APPROVER_TOKENS` set, the person is the owner of the
token they present (`X-Approver-Token`), never a name in the body. Only SHA-256 hashes of the tokens
are configured, so the settings (and anything that leaks them) cannot be used to approve.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from app.approvals.store import DecisionRefused
from app.settings import Settings

HEADER = "X-Approver-Token"
MAX_TOKEN = 200


class ApproverTokenError(ValueError):
    pass


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_approver_token(name: str) -> tuple[str, str]:
    """(token to hand to the person, `name:hash` entry for OPSGRAPH_APPROVER_TOKENS)."""
    token = "ogat_" + secrets.token_urlsafe(32)
    return token, f"{name}:{token_hash(token)}"


def parse_approver_tokens(text: str) -> dict[str, str]:
    """`alice:<sha256 hex>,bob:<sha256 hex>` → {hash: name}; ApproverTokenError names a bad entry."""
    out: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        name, _, digest = entry.rpartition(":")
        if not name or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ApproverTokenError(f"bad OPSGRAPH_APPROVER_TOKENS entry {entry[:40]!r}: expected NAME:SHA256HEX "
                                     "(`opsgraph approver-token NAME` makes one)")
        out[digest] = name.strip()
    return out


def decider(request: Request, settings: Settings, claimed: str | None, *, allowlist: bool = True) -> str:
    """The identity a decision is recorded under; DecisionRefused(403) when it cannot be established.
    `allowlist`: without tokens, the named person must be in OPSGRAPH_APPROVERS (approvals; not help replies)."""
    try:
        hashes = parse_approver_tokens(settings.approver_tokens)
    except ApproverTokenError as exc:
        raise DecisionRefused(503, str(exc)) from None
    if not hashes:  # per-approver tokens are off: the named approver, checked against OPSGRAPH_APPROVERS
        if not claimed:
            raise DecisionRefused(422, "name the approver (or configure OPSGRAPH_APPROVER_TOKENS)")
        if allowlist and settings.approver_list and claimed not in settings.approver_list:
            raise DecisionRefused(403, f"{claimed!r} is not an approver (OPSGRAPH_APPROVERS)")
        return claimed
    presented = request.headers.get(HEADER, "")
    if not presented or len(presented) > MAX_TOKEN:
        raise DecisionRefused(403, f"decisions need your own approver token in {HEADER}")
    digest = token_hash(presented)
    name = next((n for h, n in hashes.items() if hmac.compare_digest(h, digest)), None)
    if name is None:
        raise DecisionRefused(403, f"the {HEADER} is not an approver's token")
    if claimed and claimed != name:
        raise DecisionRefused(403, f"your token is {name!r}'s; it cannot decide as {claimed!r}")
    return name


def full_hash(prefix: str, pending: str) -> str:
    """The pending change's hash when `prefix` (12+ hex characters, as the card and timeline show) starts it."""
    return pending if len(prefix) >= 12 and pending.startswith(prefix) else prefix
