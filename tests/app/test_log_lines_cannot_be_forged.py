"""Text from an alert label (newlines, carriage returns, ESC, Unicode line breaks, NUL) cannot forge a
log line or a field, in either log format."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest

from app.observability import JsonFormatter, TextFormatter

FORGED = "CrashLoop\n12:00:00 INFO    app.approvals: approved by admin\r\x1b[2K\u2028\x00\x85 done"
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _record(message: str, *, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad label {message}")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("app.intake", logging.WARNING, __file__, 1, "alert %s", (message,), exc_info)
    record.__dict__.update(extra)
    return record


def test_text_format_keeps_a_hostile_label_on_one_line() -> None:
    line = TextFormatter().format(_record(FORGED, pod=FORGED))
    assert "\n" not in line and not RAW_CONTROL.search(line)
    assert r"CrashLoop\n12:00:00 INFO    app.approvals: approved by admin\r\x1b[2K\u2028\x00\x85 done" in line


def test_text_format_quotes_an_extra_that_would_read_as_another_field() -> None:
    line = TextFormatter().format(_record("x", pod="cart request_id=forged", empty=""))
    assert 'pod="cart request_id=forged"' in line and 'empty=""' in line
    assert " request_id=forged" not in line.replace('"cart request_id=forged"', "")


def test_text_format_indents_every_traceback_line() -> None:
    lines = TextFormatter().format(_record(FORGED, exc=True)).split("\n")
    assert lines[0].count("alert ") == 1 and len(lines) > 2
    assert all(line.startswith("    ") for line in lines[1:]), lines
    assert not any(RAW_CONTROL.search(line) for line in lines)


@pytest.mark.parametrize("exc", [False, True], ids=["plain", "with-traceback"])
def test_json_format_is_one_escaped_object_per_record(exc: bool) -> None:
    line = JsonFormatter().format(_record(FORGED, exc=exc, pod=FORGED))
    assert "\n" not in line and not RAW_CONTROL.search(line)
    out = json.loads(line)
    assert out["msg"] == f"alert {FORGED}" and out["pod"] == FORGED
