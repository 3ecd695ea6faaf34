"""What Postgres can store as text, decided once for every string that reaches it.

Postgres text and jsonb cannot hold NUL (U+0000), and UTF-8 cannot encode a lone surrogate (Python's
`json` parses "\\ud800" into one). Either failed the whole statement: one alert label with a NUL
answered 500 and dropped its delivery, which Alertmanager then retried forever. The rule: each such
code point becomes U+FFFD, the Unicode replacement character, so the text keeps its shape and shows
where something was lost. It lives in psycopg's dumpers for `str` and for JSON (`install()`, done
once per process when the pool module is imported), so no store, tool output, outbox row or
checkpoint can bypass it. Intake also records which alert fields it changed (`replaced_fields`).
"""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg
from psycopg.adapt import Buffer
from psycopg.types.json import set_json_dumps
from psycopg.types.string import StrBinaryDumper, StrDumperUnknown

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with every NUL and lone surrogate replaced by U+FFFD (unchanged, and not copied, when clean)."""
    return _UNSTORABLE.sub(REPLACEMENT, text) if _UNSTORABLE.search(text) else text


def storable_json(value: Any) -> Any:
    """A JSON value with `storable` applied to every string in it, keys included."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(k) if isinstance(k, str) else k: storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(v) for v in value]
    return value


def storable_mapping(fields: dict[str, str], prefix: str) -> tuple[dict[str, str], list[str]]:
    """A string map made storable, and the names (`prefix.key`, as stored) of the entries that changed."""
    out: dict[str, str] = {}
    changed: list[str] = []
    for key, value in fields.items():
        clean_key, clean_value = storable(key), storable(value)
        if clean_key is not key or clean_value is not value:
            changed.append(f"{prefix}.{clean_key}")
        out[clean_key] = clean_value
    return out, changed


def dumps_storable_json(value: Any) -> str:
    # jsonb refuses the escapes "\u0000" and a lone "\ud800" as it refuses the characters themselves.
    return json.dumps(storable_json(value))


class StorableStrDumper(StrDumperUnknown):
    """psycopg's default text-format `str` dumper, applying the rule instead of refusing NUL."""

    def dump(self, obj: str) -> Buffer | None:
        return super().dump(storable(obj))


class StorableStrBinaryDumper(StrBinaryDumper):
    """The same for binary-format parameters (`%b`)."""

    def dump(self, obj: str) -> Buffer | None:
        return super().dump(storable(obj))


_installed = False


def install() -> None:
    """Make every psycopg connection opened afterwards in this process apply the rule (idempotent)."""
    global _installed
    if _installed:
        return
    # The last dumper registered for a format is the one used; psycopg registers these two last.
    psycopg.adapters.register_dumper(str, StorableStrBinaryDumper)
    psycopg.adapters.register_dumper(str, StorableStrDumper)
    set_json_dumps(dumps_storable_json)
    _installed = True
