"""The toolsets opsgraph ships, assembled into one registry.

Apart from `agents.toolsets.registry` (the registry type, which every toolset module uses to declare
itself), so the registry does not import the toolsets that import it.
"""

from __future__ import annotations

from agents.toolsets.forbidden import FORBIDDEN
from agents.toolsets.knowledge import KNOWLEDGE
from agents.toolsets.kubernetes import KUBERNETES
from agents.toolsets.kubernetes.actions import KUBERNETES_ACTIONS
from agents.toolsets.prometheus import PROMETHEUS
from agents.toolsets.registry import ToolRegistry
from agents.toolsets.registry_tags import REGISTRY
from agents.toolsets.web_search import WEB_SEARCH


def default_registry() -> ToolRegistry:
    """A registry with every shipped toolset: kubernetes, its direct actions, prometheus, the image registries,
    web_search, knowledge and the forbidden tools."""
    registry = ToolRegistry()
    for toolset in (KUBERNETES, KUBERNETES_ACTIONS, PROMETHEUS, REGISTRY, WEB_SEARCH, KNOWLEDGE, FORBIDDEN):
        registry.add_toolset(toolset)
    return registry
