"""`opsgraph toolsets`: which toolsets are enabled in a context, and why the others are not.

A toolset counts as enabled only when some agent can use it: its prerequisites hold AND a skill (or
another agent's fixed tool list) names one of its tools. Configuring a Prometheus URL for a toolset no
skill lists would otherwise read as "enabled" while no model is ever offered it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from agents.context import Context
from agents.toolsets.registry import ToolRegistry, ToolsetStatus
from agents.toolsets.shipped import default_registry


def agent_tools(skill_tools: Iterable[str]) -> dict[str, set[str]]:
    """The tools each agent can be given: diagnostics (every skill's list, which the rules and the model
    share), qa (the knowledge search; its cluster tools come from its skill), remediation (the direct
    actions it runs after approval)."""
    from agents.direct_actions import TOOLS as DIRECT_ACTION_TOOLS
    from agents.toolsets.knowledge import QA_TOOLS

    return {"diagnostics": set(skill_tools), "qa": set(QA_TOOLS), "remediation": set(DIRECT_ACTION_TOOLS)}


def toolset_statuses(context: Context, registry: ToolRegistry | None = None,
                     used_by: Mapping[str, Iterable[str]] | None = None) -> list[ToolsetStatus]:
    """One status per registered toolset, in registration order, each with a reason. With `used_by`
    (agent -> tool names), a toolset no agent uses is reported disabled, and the others name their users."""
    registry = registry or default_registry()
    users_of = {agent: set(tools) for agent, tools in (used_by or {}).items()}
    statuses = []
    for toolset in registry.toolsets():
        status = toolset.status(context)
        tools = [s.name for s in registry.specs() if s.toolset == toolset.name]
        if status.enabled and used_by is not None:
            users = sorted(agent for agent, names in users_of.items() if names & set(tools))
            if not users:
                statuses.append(ToolsetStatus(status.name, False, "no agent can use it: no skill or agent lists "
                                                                  f"its tools ({', '.join(tools)})"))
                continue
            status = ToolsetStatus(status.name, True, f"{status.reason}; used by {', '.join(users)}")
        if status.enabled:
            status = ToolsetStatus(status.name, True, f"{status.reason}; tools: {', '.join(tools)}")
        statuses.append(status)
    return statuses
