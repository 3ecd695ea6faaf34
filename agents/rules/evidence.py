"""Turn a finding's clues into `Evidence`: the line of a call's redacted text that holds the needle."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agents.diagnosis import CallRecord, Evidence
from agents.rules.finding import Clue

MAX_EXCERPT = 300


def excerpt_around(text: str, start: int, length: int) -> str:
    """The line holding text[start:start+length], trimmed; a window around the needle when the line is long."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start + length)
    line_end = len(text) if line_end < 0 else line_end
    line = text[line_start:line_end]
    if len(line.strip()) <= MAX_EXCERPT:
        return line.strip()
    pad = max(0, (MAX_EXCERPT - length) // 2)
    lo = max(line_start, start - pad)
    return text[lo:min(line_end, lo + max(MAX_EXCERPT, length))].strip()


def locate(clue: Clue, calls: Sequence[CallRecord]) -> Evidence | None:
    """The first needle found, searching the clue's own call first, then every other call in order."""
    ordered = [c for c in calls if c.call_id == clue.call_id] + [c for c in calls if c.call_id != clue.call_id]
    for needle in clue.needles:
        for call in ordered:
            for text in (call.text, call.message or ""):
                at = text.find(needle) if needle else -1
                if at >= 0:
                    return Evidence(call_id=call.call_id, tool=call.tool, excerpt=excerpt_around(text, at, len(needle)))
    return None


def evidence_for(clues: Iterable[Clue], calls: Sequence[CallRecord]) -> list[Evidence]:
    found: list[Evidence] = []
    for clue in clues:
        item = locate(clue, calls)
        if item is not None and item not in found:
            found.append(item)
    return found
