"""The clusters opsgraph may look at: `clusters.yaml`, plus the default cluster.

```yaml
clusters:
  prod-eu:
    kubeconfig: /etc/opsgraph/kubeconfigs/prod-eu.yaml
    context: prod-eu-admin        # optional: the kubeconfig's current context otherwise
  staging:
    in_cluster: true              # the pod's service account (opsgraph runs in this cluster)
```

An alert names its cluster by a label (`OPSGRAPH_CLUSTER_LABEL`, also `cluster`/`cluster_id`);
without one it belongs to the default cluster (`OPSGRAPH_DEFAULT_CLUSTER`), which is KUBECONFIG,
or in-cluster credentials, unless `clusters.yaml` defines it. An alert from a cluster the registry
does not know opens an incident that fails at once with a reason saying so; the rest of that storm
joins it. Once the cluster is added (and opsgraph restarted), its alerts are investigated: a new
firing at once, one still firing at Alertmanager's next notification of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML, YAMLError

from app.settings import Settings


class ClusterError(ValueError):
    """clusters.yaml is unreadable or invalid; the message names the file and the field."""


class ClusterEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kubeconfig: Path | None = Field(None, description="Kubeconfig file for this cluster.")
    context: str | None = Field(None, description="Context in that kubeconfig; default: its current context.")
    in_cluster: bool = Field(False, description="Use the pod's service account (opsgraph runs in this cluster).")

    @model_validator(mode="after")
    def _one_source(self) -> ClusterEntry:
        if self.in_cluster == (self.kubeconfig is not None):
            raise ValueError("set exactly one of `kubeconfig` or `in_cluster: true`")
        return self


class ClustersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clusters: dict[str, ClusterEntry]


@dataclass(frozen=True)
class ClusterConfig:
    id: str
    kubeconfig: Path | None  # None with context None: in-cluster credentials
    context: str | None


class ClusterRegistry:
    def __init__(self, clusters: dict[str, ClusterConfig], default: str) -> None:
        self.clusters = clusters
        self.default = default

    @classmethod
    def from_settings(cls, settings: Settings) -> ClusterRegistry:
        clusters: dict[str, ClusterConfig] = {
            settings.default_cluster: ClusterConfig(settings.default_cluster, settings.kubeconfig, None)
        }
        if settings.clusters_file is not None:
            clusters.update(load_clusters_file(settings.clusters_file))
        return cls(clusters, settings.default_cluster)

    def get(self, cluster_id: str) -> ClusterConfig | None:
        return self.clusters.get(cluster_id)

    def unknown_reason(self, cluster_id: str) -> str | None:
        """None for a known cluster, else the one sentence the failed incident carries."""
        if cluster_id in self.clusters:
            return None
        known = ", ".join(sorted(self.clusters))
        return (f"unknown cluster {cluster_id!r}: it is not in the cluster registry (known: {known}); "
                "add it to clusters.yaml (OPSGRAPH_CLUSTERS_FILE) for opsgraph to investigate it")


def load_clusters_file(path: Path) -> dict[str, ClusterConfig]:
    try:
        raw = YAML(typ="safe").load(path.read_text())
    except (OSError, YAMLError) as exc:
        raise ClusterError(f"{path}: cannot read: {exc}") from None
    try:
        parsed = ClustersFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ClusterError(f"{path}: {where}: {err['msg']}") from None
    base = path.parent
    return {
        cid: ClusterConfig(cid, (base / entry.kubeconfig) if entry.kubeconfig else None, entry.context)
        for cid, entry in parsed.clusters.items()
    }
