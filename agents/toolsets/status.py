"""`opsgraph toolsets`: which toolsets are enabled in a context, and why the others are not."""

from __future__ import annotations

from agents.context import Context
from agents.toolsets.registry import ToolRegistry, ToolsetStatus, default_registry


def toolset_statuses(context: Context, registry: ToolRegistry | None = None) -> list[ToolsetStatus]:
    """One status per registered toolset, in registration order, each with a reason."""
    registry = registry or default_registry()
    statuses = []
    for toolset in registry.toolsets():
        status = toolset.status(context)
        tools = [s.name for s in registry.specs() if s.toolset == toolset.name]
        if status.enabled:
            status = ToolsetStatus(status.name, True, f"{status.reason}; tools: {', '.join(tools)}")
        statuses.append(status)
    return statuses
