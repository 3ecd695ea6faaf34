"""Truncation keeps the informative end (logs) or start (tables) and says how much was cut."""

from __future__ import annotations

import pytest

from agents.safety.truncation import truncate_head, truncate_tail

LOG = "\n".join(f"line {i:04d} starting worker" for i in range(500)) + "\npanic: out of memory"


@pytest.mark.parametrize("cap", [60, 200, 1000, 5000])
def test_tail_keeps_the_crash_and_names_the_cut(cap: int) -> None:
    text, truncated = truncate_tail(LOG, cap)
    assert truncated and len(text) <= cap
    assert text.endswith("panic: out of memory")
    cut = int(text.split("[… ")[1].split(" chars cut")[0])
    assert cut == len(LOG) - len(text.split("\n", 1)[1])


@pytest.mark.parametrize("cap", [60, 200, 1000])
def test_head_keeps_the_summary(cap: int) -> None:
    text, truncated = truncate_head(LOG, cap)
    assert truncated and len(text) <= cap
    assert text.startswith("line 0000")
    assert text.endswith("chars cut …]")


@pytest.mark.parametrize("truncate", [truncate_head, truncate_tail], ids=["head", "tail"])
def test_short_text_is_untouched(truncate) -> None:  # type: ignore[no-untyped-def]
    assert truncate("short", 100) == ("short", False)


def test_tail_starts_on_a_whole_line() -> None:
    text, _ = truncate_tail(LOG, 300)
    assert text.split("\n")[1].startswith("line ")
