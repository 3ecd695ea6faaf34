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
    rbac,
)
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.kubernetes.toolset import KUBERNETES

# The tool that describes each kind like `kubectl describe`, read off the tools' own declarations:
# what a request's target is checked with, what the rules read a describe's kind from, and what
# verification looks at a workload through.
DESCRIBE_TOOLS: dict[str, str] = {spec.kind: spec.name for spec in KUBERNETES.specs
                                  if spec.name.startswith("describe_") and spec.kind is not None}

__all__ = ["DESCRIBE_TOOLS", "KUBERNETES", "ClusterClients"]
