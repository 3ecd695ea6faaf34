"""The failure taxonomy of agents/ (after kopf's): what went wrong says what happens next.

- `PermanentError`: retrying is useless (an invalid manifest, a refused approval, a broken toolset).
- `TemporaryError(delay=...)`: try again after `delay` seconds (GitHub 5xx, API throttling).
- `InputError`: the caller sent something wrong; the edge turns it into a 4xx.

Tool failures are not raised at all: they come back as data in a `ToolResult` for the model.
"""

from __future__ import annotations


class OpsgraphError(Exception):
    """Base of every error agents/ raises on purpose."""


class PermanentError(OpsgraphError):
    """Retrying will not help; the caller records the failure and moves on."""


class TemporaryError(OpsgraphError):
    """Worth retrying after `delay` seconds (the caller checks its retry budget before sleeping)."""

    def __init__(self, message: str, *, delay: float = 60.0) -> None:
        super().__init__(message)
        self.delay = delay


class InputError(OpsgraphError):
    """The request itself is wrong (malformed alert, unknown cluster); becomes a 4xx at the edge."""
