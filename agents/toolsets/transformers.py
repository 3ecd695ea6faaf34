"""Output transformers, named from a registry so a ToolSpec can list them as data.

The executor always redacts first (a secret cut in half by truncation would no longer be recognised)
and always caps last, so `output_cap` holds whatever a spec lists.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.safety.redaction import redact
from agents.safety.truncation import truncate_head, truncate_tail

# (text, output_cap) -> (text, truncated)
Transformer = Callable[[str, int], tuple[str, bool]]

TRANSFORMERS: dict[str, Transformer] = {
    "redact": lambda text, _cap: (redact(text), False),
    "truncate_tail": truncate_tail,  # logs: the crash is at the end
    "truncate_head": truncate_head,  # tables and describe output: the summary is at the start
}
TRUNCATORS = frozenset({"truncate_tail", "truncate_head"})


def apply_transformers(names: tuple[str, ...], text: str, cap: int) -> tuple[str, bool]:
    """Redact, run the listed transformers in order, then make sure the cap holds."""
    text = redact(text)
    truncated = False
    for name in names:
        if name == "redact":
            continue
        text, cut = TRANSFORMERS[name](text, cap)
        truncated = truncated or cut
    if len(text) > cap:
        text, cut = truncate_head(text, cap)
        truncated = truncated or cut
    return text, truncated
