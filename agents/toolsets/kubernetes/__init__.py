"""The kubernetes toolset. Importing this package declares its tools (one module per family)."""

from agents.toolsets.kubernetes import (  # noqa: F401  (importing declares the tools)
    pods,
    workloads,
    describe,
    events,
    logs,
    resources,
    endpoints,
    usage,
    rollout,
)
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.kubernetes.toolset import KUBERNETES

__all__ = ["KUBERNETES", "ClusterClients"]
