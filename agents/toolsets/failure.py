"""How a tool call can end, and the exception a tool raises for an expected failure.

Its own module so the cluster clients raise `ToolFailure` without importing the tool framework
(`agents.toolsets.base`), which refers to them.
"""

from __future__ import annotations

from enum import StrEnum


class ToolStatus(StrEnum):
    OK = "ok"
    NO_DATA = "no_data"  # the call worked and found nothing (no events, no metrics)
    ERROR = "error"  # bad arguments, missing object, timeout, unreachable API
    REFUSED = "refused"  # unknown, not allowed for this agent, forbidden, toolset not enabled
    APPROVAL_REQUIRED = "approval_required"  # low/high risk: a person decides first


class ToolFailure(Exception):
    """Raised by a tool (or a toolset's error explainer) for an expected failure with a clear message."""

    def __init__(self, message: str, *, status: ToolStatus = ToolStatus.ERROR, unreachable: bool = False) -> None:
        super().__init__(message)
        self.message, self.status, self.unreachable = message, status, unreachable
