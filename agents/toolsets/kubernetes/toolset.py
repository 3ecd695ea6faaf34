"""The kubernetes toolset: read-only tools over the incident's own cluster.

It has no prerequisite of its own: a cluster whose kubeconfig cannot be loaded or whose API does not
answer is reported per call as "cluster API unreachable" (and `executor.cluster_unreachable`), so the
graph can escalate, rather than silently offering the model no cluster tools.
"""

from __future__ import annotations

from agents.toolsets.kubernetes.failures import check_refs, explain
from agents.toolsets.registry import Toolset

KUBERNETES = Toolset(
    name="kubernetes",
    description="Read-only views of the incident's cluster: pods, workloads, describe, events, logs, YAML, "
                "endpoints, resource usage and rollout history.",
    explain=explain,
    check_refs=check_refs,
)
