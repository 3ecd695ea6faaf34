"""Hypothesis pieces for fuzzing the service's edges: hostile text, any JSON, and the checks every
answer must pass (2xx or a clear 4xx, never 5xx) and every database must pass (nothing half stored).

Example counts stay modest because each example is a real request against a real Postgres; set
OPSGRAPH_FUZZ_EXAMPLES to run more (e.g. 2000 before a release)."""

from __future__ import annotations

import os
from typing import Any

import httpx
import psycopg
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=int(os.environ.get("OPSGRAPH_FUZZ_EXAMPLES", "40")),
    deadline=None,  # a request against Postgres on a shared 2-core machine has no stable time
    # One service and one database serve every example of a test; the checks hold across examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Text people and tools have been known to put in labels: NUL, a forged log line, a lone surrogate,
# right-to-left override, terminal escapes, SQL and template injection, format strings.
SPECIAL_TEXT = ["\x00", "a\x00b", "\n12:00:00 INFO    app: approved by admin", "\r\x1b[2K", "\ud800", "x\udfffy",
                "\u202egnp.exe", "\ufeff", "'); DROP TABLE incidents; --", "{{7*7}}${jndi:ldap://x}", "%s%(x)s$1",
                "", " ", "🔥" * 10, "\u2028\u2029\x85"]

# Every code point, surrogates included (JSON can carry them as escapes).
any_char = st.characters(exclude_categories=[])
hostile_text = st.one_of(
    st.text(any_char, max_size=40),
    st.sampled_from(SPECIAL_TEXT),
    st.integers(1_000, 120_000).map(lambda n: "L" * n),  # long, still under the body limit
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), hostile_text)
any_json = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)), max_leaves=20)


def deeply_nested(depth: int) -> bytes:
    """JSON nested `depth` levels deep (a parser that recurses per level falls over long before 100,000)."""
    return b"[" * depth + b"]" * depth


raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"", b"null", b"[]", b"{}", b"\xff\xfe", b'{"a": "\xed\xa0\x80"}', b'{"version": "4"',
                     deeply_nested(100_000), b'"' + b"\\u0000" * 1000 + b'"']),
)
# Header values an HTTP client can send: latin-1 without controls, no whitespace at either end.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                      max_size=60).map(lambda value: value.strip(" \t"))

CLEAR_4XX = {400, 401, 403, 404, 405, 409, 413, 415, 422}


def assert_clear_answer(reply: httpx.Response, allowed: set[int]) -> None:
    """2xx from `allowed`, or a 4xx whose JSON body says what was wrong; never 5xx."""
    assert reply.status_code < 500, f"{reply.status_code}: {reply.text[:500]}"
    assert reply.status_code in allowed | CLEAR_4XX, f"unexpected {reply.status_code}: {reply.text[:300]}"
    if reply.status_code >= 400:
        detail = reply.json()["detail"]
        assert detail, f"{reply.status_code} without a reason"


def row_counts(conninfo: str, tables: list[str]) -> dict[str, int]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}  # type: ignore[index]


def rows(conninfo: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()
