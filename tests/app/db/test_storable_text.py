"""The one rule for text Postgres cannot hold, applied by psycopg's dumpers to every statement
(importing app.db.pool installs it, as in the service)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from app.db.storable_text import REPLACEMENT, storable, storable_json, storable_mapping
from app.audit_store import ToolAuditStore
from app.db.pool import open_pool

from agents.audit import AuditRow

R = REPLACEMENT


@pytest.mark.parametrize(("raw", "stored"), [
    pytest.param("plain", "plain", id="clean"),
    pytest.param("a\x00b", f"a{R}b", id="nul"),
    pytest.param("\x00\x00", R + R, id="only-nul"),
    pytest.param("x\ud800y", f"x{R}y", id="lone-high-surrogate"),
    pytest.param("\udfff", R, id="lone-low-surrogate"),
    pytest.param("😀 \u2028 \x1b[31m", "😀 \u2028 \x1b[31m", id="astral-and-controls-kept"),
])
def test_storable_replaces_only_what_postgres_cannot_hold(raw: str, stored: str) -> None:
    assert storable(raw) == stored


def test_clean_text_is_not_copied() -> None:
    text = "k" * 1000
    assert storable(text) is text


def test_json_keys_and_nested_values_are_made_storable() -> None:
    assert storable_json({"a\x00": [{"b": "c\ud800"}, 1, None, True]}) == {f"a{R}": [{"b": f"c{R}"}, 1, None, True]}


def test_mapping_names_what_changed() -> None:
    assert storable_mapping({"ok": "v", "bad": "x\x00", "k\x00": "v"}, "labels") == (
        {"ok": "v", "bad": f"x{R}", f"k{R}": "v"}, ["labels.bad", f"labels.k{R}"])


@pytest.mark.parametrize(("sql", "param", "expected"), [
    pytest.param("SELECT %s::text AS v", "a\x00\ud800", f"a{R}{R}", id="text"),
    pytest.param("SELECT %b::text AS v", "a\x00", f"a{R}", id="text-binary-format"),
    pytest.param("SELECT %s::text[] AS v", ["a\x00", "b"], [f"a{R}", "b"], id="text-array"),
    pytest.param("SELECT %s AS v", Jsonb({"k\x00": "v\ud800"}), {f"k{R}": f"v{R}"}, id="jsonb"),
    pytest.param("SELECT %s::jsonb AS v", Jsonb(["\x00"]), [R], id="jsonb-cast"),
])
def test_every_parameter_form_is_made_storable(database_url: str, sql: str, param: Any, expected: Any) -> None:
    with psycopg.connect(database_url) as conn:
        assert conn.execute(sql, (param,)).fetchone() == (expected,)


async def test_tool_output_with_nul_reaches_the_audit_log(database_url: str) -> None:
    pool = await open_pool(database_url, min_size=1, max_size=1, pgbouncer=False, timeout=10)
    try:
        await ToolAuditStore(pool).record(AuditRow(
            incident_id="7", cluster="default", agent="diagnostics", tool="pod_logs", call_id="c1",
            args={"pod": "cart\x00"}, status="ok", message="log line\x00with \ud800 in it", duration_ms=3,
            bytes=20, truncated=False, at=datetime.now(UTC)))
        (row,) = await ToolAuditStore(pool).for_incident("7")
    finally:
        await pool.close()
    assert (row.args, row.message) == ({"pod": f"cart{R}"}, f"log line{R}with {R} in it")
