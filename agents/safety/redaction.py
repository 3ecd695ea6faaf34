"""Redaction of secrets in tool output before it reaches a model, a log, the state or a notification.

Each rule is a pattern for one kind of secret; the replacement names the kind (`[REDACTED:jwt]`) so a
reader still knows something was there. Rules run most specific first, so a JWT inside a bearer header
is reported as a bearer token either way and nothing is redacted twice. Redacting is idempotent.

What must survive (see tests/agents/safety/test_redaction.py): image digests, UIDs, resourceVersions,
quantities, short words that happen to be valid base64, and the API's own messages that *mention*
secrets ("secret \"db\" not found", `secretKeyRef`), which are exactly what a diagnosis needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MARK = "[REDACTED]"

_SENSITIVE_KEY = (
    r"password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"account[_-]?key|client[_-]?secret|credentials?|session[_-]?id|cookie|signature|tls\.key"
)
_KEY_WORD = re.compile(rf"(?i)(?:{_SENSITIVE_KEY})")
# A key whose name only refers to a secret (secretName, secretKeyRef, tokenPath) is not itself secret.
_HARMLESS_KEY_SUFFIX = ("name", "names", "ref", "refs", "path", "namespace", "kind", "type", "seconds",
                        "mode", "file", "count", "length", "expiration", "ttl")
_HARMLESS_VALUE = re.compile(r"(?i)^(\[redacted.*|\*+|<.*|true|false|null|none|)$")

Rule = tuple[str, re.Pattern[str], str | Callable[[re.Match[str]], str]]


def _auth_header(match: re.Match[str]) -> str:
    scheme = match["scheme"] or ""
    return f"{match['head']}{scheme}{' ' if scheme else ''}{MARK}"


def _key_value(match: re.Match[str]) -> str:
    key, value = match["key"], match["val"]
    bare_key = key.strip("\"'").lower()
    if bare_key.endswith(_HARMLESS_KEY_SUFFIX) or _HARMLESS_VALUE.match(value.strip("\"'")):
        return match[0]
    # A number after "tokens"/"secrets" is a count, not a credential; a numeric password is still one.
    if value.isdigit() and not re.search(r"(?i)pass|pwd|pin", bare_key):
        return match[0]
    quote = value[0] if value[:1] in "\"'" else ""
    return f"{key}{match['sep']}{quote}{MARK}{quote}"


RULES: tuple[Rule, ...] = (
    ("private-key", re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|\Z)"),
     "[REDACTED:private-key]"),
    ("auth-header", re.compile(
        r"(?i)(?P<head>\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)(?P<scheme>bearer|basic|token|digest)?"
        r"\s*[^\s\"',;]+"), _auth_header),
    ("bearer", re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + MARK),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "[REDACTED:jwt]"),
    ("connection-string", re.compile(r"\b([a-z][a-z0-9+.-]{1,20}://)([^\s:/@\"']+):([^\s@/\"']+)@"),
     r"\1\2:" + MARK + "@"),
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b"),
     "[REDACTED:aws-key]"),
    ("gcp-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), "[REDACTED:gcp-key]"),
    ("gcp-oauth", re.compile(r"\bya29\.[0-9A-Za-z_-]{20,}"), "[REDACTED:gcp-token]"),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})"),
     "[REDACTED:github-token]"),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "[REDACTED:slack-token]"),
    ("api-key", re.compile(r"\b(?:sk|rk)[-_](?:live_|test_|proj-)?[A-Za-z0-9_-]{20,}"), "[REDACTED:api-key]"),
    ("key-value", re.compile(
        # Key parts are bounded: unbounded `[...]*` around the keyword backtracks quadratically on long words.
        rf"(?P<key>[\"']?(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]{{0,40}}(?i:{_SENSITIVE_KEY})[A-Za-z0-9_.-]{{0,40}}[\"']?)"
        r"(?P<sep>[:=][ \t]*|[ \t]+=[ \t]*)"
        r"(?P<val>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',;&<>{}\[\]]+)"), _key_value),
    # Secret data as the API serves it: base64, padded (>= 16 chars) or long and mixed (>= 32 chars).
    # Hex digests, UIDs and paths fail the lookaheads or the boundaries.
    ("base64", re.compile(
        r"(?<![A-Za-z0-9+/=_.:-])(?!/)"
        r"(?:[A-Za-z0-9+/]{14,}={1,2}"
        r"|(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*[0-9])[A-Za-z0-9+/]{32,})"
        r"(?![A-Za-z0-9+/=_.-])"), "[REDACTED:base64]"),
)


def redact(text: str) -> str:
    """Replace every secret found in `text`; ordinary text comes back unchanged."""
    if not text:
        return text
    for _name, pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return text


def is_sensitive_key(key: str) -> bool:
    """A mapping key (or env var name) whose value is a secret: DB_PASSWORD, apiKey, token."""
    lowered = key.lower()
    return bool(_KEY_WORD.search(key)) and not lowered.endswith(_HARMLESS_KEY_SUFFIX)


def redact_obj(obj: Any) -> Any:
    """A copy of a JSON-like value with every secret redacted: by key name, by env entry, by content.

    Secret objects keep their keys and lose every value, whatever the values look like.
    """
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, list | tuple):
        return [redact_obj(item) for item in obj]
    if not isinstance(obj, dict):
        return obj
    is_secret = obj.get("kind") == "Secret"
    # An env entry {name: DB_PASSWORD, value: ...}: the name says the value is secret.
    env_secret = isinstance(obj.get("name"), str) and is_sensitive_key(obj["name"])
    out: dict[Any, Any] = {}
    for key, value in obj.items():
        if is_secret and key in ("data", "stringData") and isinstance(value, dict):
            out[key] = {k: MARK for k in value}
        elif isinstance(value, str) and value and (
                (isinstance(key, str) and is_sensitive_key(key) and not _HARMLESS_VALUE.match(value))
                or (env_secret and key == "value")):
            out[key] = MARK
        else:
            out[key] = redact_obj(value)
    return out
