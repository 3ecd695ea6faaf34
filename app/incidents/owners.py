"""Intake's pod → workload lookup against the alert's own cluster (ownerReferences), with a fallback.

Asking the cluster gets the cases the pod-name pattern cannot: DaemonSet pods (`node-exporter-8lx6g`),
CronJob runs (`backup-28573920-x7k2p`), and a bare pod whose name only looks like a Deployment's.
The lookup sits on the webhook's path, so it is bounded: a cache per pod, one in-flight request per
pod however many alerts name it, a timeout (`OPSGRAPH_OWNER_LOOKUP_TIMEOUT_SECONDS`), and after a
failure the cluster is not asked again for a while. Whatever goes wrong, the answer is the pattern's
and the alert is accepted. The reads are metadata of the alert's own pod and its controllers, made
by the service itself rather than by an agent, so they are counted in metrics, not in the tool audit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from kubernetes.client.exceptions import ApiException

from app.clusters import ClusterRegistry
from app.incidents.grouping import PodNameResolver, ResourceRef
from app.observability import OWNER_LOOKUPS

from agents.context import ClusterRef
from agents.safety.validation import is_label, is_subdomain
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.kubernetes.owners import workload_of_pod
from agents.toolsets.kubernetes.reader import ClusterReader

log = logging.getLogger(__name__)

# After a failed lookup the cluster (for a 403, the namespace) is left alone this long: a storm
# about an unreachable cluster must not pay the timeout once per alert.
BACKOFF_SECONDS = 30.0
# Lookups in flight at once (each holds a thread): a delivery naming a thousand pods queues here.
LOOKUPS_AT_ONCE = 8
# Enough for a storm's pods across clusters; the oldest entries go first when it is full.
CACHE_ENTRIES = 10_000

Key = tuple[str, str, str]


class ClusterOwnerResolver:
    """A `WorkloadResolver` that asks the cluster, and answers with the pod-name pattern when it cannot."""

    def __init__(self, clusters: ClusterRegistry, *, timeout_seconds: float, cache_seconds: float,
                 clients: ClusterClients | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clusters = clusters
        self.clients = clients or ClusterClients()
        self.timeout = timeout_seconds
        self.cache_seconds = cache_seconds
        self.clock = clock
        self.fallback = PodNameResolver()
        self._cache: dict[Key, tuple[float, ResourceRef]] = {}
        self._in_flight: dict[Key, asyncio.Future[ResourceRef | None]] = {}
        self._resting_until: dict[str, float] = {}  # cluster id → when it may be asked again
        self._slots = asyncio.Semaphore(LOOKUPS_AT_ONCE)
        # Its own threads: the default executor is shared with tool calls and git, and a lookup's
        # timeout must not run out while it waits behind them.
        self._threads = ThreadPoolExecutor(LOOKUPS_AT_ONCE, thread_name_prefix="opsgraph-owner-lookup")

    async def owner_of_pod(self, cluster: str, namespace: str | None, pod: str) -> ResourceRef:
        found = await self._lookup(cluster, namespace, pod)
        if found is None:
            OWNER_LOOKUPS.labels("pattern").inc()
            return await self.fallback.owner_of_pod(cluster, namespace, pod)
        return found

    async def _lookup(self, cluster: str, namespace: str | None, pod: str) -> ResourceRef | None:
        if namespace is None or not (is_label(namespace) and is_subdomain(pod)):
            return None  # a hostile or malformed label never becomes part of a URL
        entry = self.clusters.get(cluster)
        if entry is None:
            return None
        key = (cluster, namespace, pod)
        cached = self._cache.get(key)
        if cached is not None and self.clock() < cached[0]:  # still right while the cluster rests
            OWNER_LOOKUPS.labels("cached").inc()
            return cached[1]
        if self._resting(cluster, namespace):
            return None
        if key in self._in_flight:  # the storm's other alerts about this pod wait for the same answer
            shared = await asyncio.shield(self._in_flight[key])
            if shared is not None:
                OWNER_LOOKUPS.labels("cached").inc()
            return shared
        future: asyncio.Future[ResourceRef | None] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        found: ResourceRef | None = None
        try:
            found = await self._ask(ClusterRef(entry.id, entry.kubeconfig, entry.context), namespace, pod)
        finally:  # even when this request is cancelled, the alerts waiting on it get an answer
            future.set_result(found)
            del self._in_flight[key]
        return found

    async def _ask(self, cluster: ClusterRef, namespace: str, pod: str) -> ResourceRef | None:
        try:  # a delivery naming hundreds of pods waits at most one timeout for a slot, then uses the pattern
            await asyncio.wait_for(self._slots.acquire(), self.timeout)
        except TimeoutError:
            return None  # busy here, which says nothing about the cluster: it does not rest
        try:
            if self._resting(cluster.id, namespace):
                return None  # it failed while this lookup waited for a slot
            loop = asyncio.get_running_loop()
            answer = await asyncio.wait_for(loop.run_in_executor(self._threads, self._read, cluster, namespace, pod),
                                            self.timeout)
        except Exception as exc:  # unreachable, timed out, forbidden: the pattern answers, the cluster rests
            self._rest(cluster.id, namespace, pod, exc)
            return None
        finally:
            self._slots.release()
        if answer is None:
            return None  # the pod is gone (alerts often outlive their pods): the pattern decides
        OWNER_LOOKUPS.labels("cluster").inc()
        found = ResourceRef(*answer)
        self._remember((cluster.id, namespace, pod), found)
        return found

    def _resting(self, cluster: str, namespace: str) -> bool:
        now = self.clock()
        return any(now < self._resting_until.get(scope, 0.0) for scope in (cluster, f"{cluster}/{namespace}"))

    def _rest(self, cluster: str, namespace: str, pod: str, exc: Exception) -> None:
        # Forbidden is about this namespace (namespace-scoped RBAC); anything else about the cluster.
        scope = f"{cluster}/{namespace}" if isinstance(exc, ApiException) and exc.status == 403 else cluster
        if self.clock() < self._resting_until.get(scope, 0.0):
            return  # a lookup that was already in flight failed too: said once is enough
        self._resting_until[scope] = self.clock() + BACKOFF_SECONDS
        if isinstance(exc, TimeoutError):
            reason = f"timed out after {self.timeout:g} s"
        elif isinstance(exc, ApiException):  # its text carries the whole response; the status says enough
            reason = f"the API answered {exc.status} {exc.reason}"
        else:
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        where = f"namespace {namespace} of cluster {cluster}" if scope != cluster else f"cluster {cluster}"
        log.warning("cannot look up the owner of pod %s/%s on cluster %s (%s); using the pod-name pattern in %s for "
                    "%g s", namespace, pod, cluster, reason, where, BACKOFF_SECONDS)

    def _read(self, cluster: ClusterRef, namespace: str, pod: str) -> tuple[str, str] | None:
        reader = ClusterReader(self.clients.for_cluster(cluster), self.timeout)
        return workload_of_pod(reader, namespace, pod)

    def _remember(self, key: Key, found: ResourceRef) -> None:
        if self.cache_seconds <= 0:
            return
        if len(self._cache) >= CACHE_ENTRIES:
            now = self.clock()
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            while len(self._cache) >= CACHE_ENTRIES:
                del self._cache[next(iter(self._cache))]
        self._cache[key] = (self.clock() + self.cache_seconds, found)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        self.clients.close()
