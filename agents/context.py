"""Run-time context for one incident: which cluster, which budgets, which toolsets.

`app/` builds a frozen `Context` from its settings and passes it as `context=` on every invoke and
every resume; run-time context is not checkpointed, and `agents/` never reads settings itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path


@dataclass(frozen=True)
class ClusterRef:
    """How to reach one cluster. `kubeconfig` and `context` both None means in-cluster credentials."""

    id: str
    kubeconfig: Path | None = None
    context: str | None = None

    @property
    def in_cluster(self) -> bool:
        return self.kubeconfig is None and self.context is None


@dataclass(frozen=True)
class Budgets:
    """Loop guards for one incident (see agents/safety/guards.py); each trip forces a conclusion."""

    max_steps: int = 12
    max_identical_calls: int = 3
    wall_clock_seconds: float = 300
    max_tokens: int = 60_000


@dataclass(frozen=True)
class Context:
    """Everything a run needs to know about its surroundings; one per incident (or chat turn)."""

    incident_id: str
    cluster: ClusterRef
    budgets: Budgets = Budgets()
    model: str | None = None
    # Toolsets the operator switched on. A toolset with prerequisites (prometheus: a URL, web_search: a
    # Tavily key) is offered only when it is listed here AND its prerequisite is configured.
    enabled_toolsets: frozenset[str] = frozenset({"kubernetes"})
    prometheus_url: str | None = None
    # (registry host or `*`, base URL) pairs: where the registry toolset asks for an image's tags.
    registry_mirrors: tuple[tuple[str, str], ...] = ()
    tavily_api_key: str | None = field(default=None, repr=False)
    # `cluster/namespace` patterns (fnmatch `*`) where approved direct actions (restart, scale) may run;
    # empty: off everywhere, every fix goes out as a pull request.
    direct_actions: frozenset[str] = frozenset()

    def allows_direct_action(self, namespace: str | None) -> bool:
        """Whether a direct action on an object in `namespace` of this run's cluster is enabled."""
        if not namespace:
            return False
        target = f"{self.cluster.id}/{namespace}"
        return any(fnmatchcase(target, pattern) for pattern in self.direct_actions)
