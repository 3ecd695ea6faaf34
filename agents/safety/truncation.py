"""Cap tool output to a size a model can read, keeping the informative end and saying what was cut.

Logs carry the crash at the end, so `truncate_tail` keeps the end; tables and describe output carry the
summary first, so `truncate_head` keeps the start. Both cut at a line boundary when one is near, and
the result, note included, is never longer than `cap`.
"""

from __future__ import annotations

_NOTE = "[… {n} chars cut …]"
_MIN_CAP = 40  # below this a note would not fit; the cap is raised to it


def _note(cut: int) -> str:
    return _NOTE.format(n=cut)


def truncate_tail(text: str, cap: int) -> tuple[str, bool]:
    """Keep the END of `text` within `cap` characters; a note at the top says how much was cut."""
    cap = max(cap, _MIN_CAP)
    if len(text) <= cap:
        return text, False
    room = cap - len(_note(len(text))) - 1
    kept = text[len(text) - room:]
    newline = kept.find("\n")
    if 0 <= newline < room // 4:  # start on a whole line unless that throws away too much
        kept = kept[newline + 1:]
    return f"{_note(len(text) - len(kept))}\n{kept}", True


def truncate_head(text: str, cap: int) -> tuple[str, bool]:
    """Keep the START of `text` within `cap` characters; a note at the end says how much was cut."""
    cap = max(cap, _MIN_CAP)
    if len(text) <= cap:
        return text, False
    room = cap - len(_note(len(text))) - 1
    kept = text[:room]
    newline = kept.rfind("\n")
    if newline > room * 3 // 4:
        kept = kept[:newline]
    return f"{kept}\n{_note(len(text) - len(kept))}", True
