"""Kubernetes API clients, one per cluster, built from a `ClusterRef` and cached.

Each incident's tools talk to its own cluster only (Context.cluster); one unreachable cluster does not
affect the others. Retries are off and timeouts short, so an unreachable API fails within seconds
instead of stalling a diagnosis; the executor reports it as data.
"""

from __future__ import annotations

import threading

from kubernetes import client, config

from agents.context import ClusterRef
from agents.toolsets.failure import ToolFailure

CONNECT_TIMEOUT_SECONDS = 3.0


class ClusterClients:
    """A cache of `kubernetes.client.ApiClient` per cluster (keyed by id, kubeconfig and context)."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str | None, str | None], client.ApiClient] = {}
        self._lock = threading.Lock()

    def for_cluster(self, cluster: ClusterRef) -> client.ApiClient:
        """The client for `cluster`; a kubeconfig that cannot be loaded is a ToolFailure (unreachable)."""
        key = (cluster.id, str(cluster.kubeconfig) if cluster.kubeconfig else None, cluster.context)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = _build(cluster)
            return self._clients[key]

    def close(self) -> None:
        with self._lock:
            for api in self._clients.values():
                api.close()
            self._clients.clear()


def _build(cluster: ClusterRef) -> client.ApiClient:
    configuration = client.Configuration()
    # urllib3 would retry a refused connection three times with back-off; one attempt is enough to know.
    configuration.retries = 0
    try:
        if cluster.in_cluster:
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(config_file=str(cluster.kubeconfig) if cluster.kubeconfig else None,
                                    context=cluster.context, client_configuration=configuration,
                                    persist_config=False)
    except (config.ConfigException, OSError, ValueError) as exc:
        raise ToolFailure(f"cluster API unreachable: cluster '{cluster.id}' has no usable credentials ({exc})",
                          unreachable=True) from exc
    return client.ApiClient(configuration)
