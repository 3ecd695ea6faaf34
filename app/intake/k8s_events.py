"""Optional intake of Kubernetes Warning events, feeding the same join rules as Alertmanager.

Off by default (`OPSGRAPH_K8S_EVENTS_ENABLED`): clusters without Prometheus still get incidents
from OOMKilling, BackOff, FailedScheduling, FailedMount, Unhealthy, NodeNotReady... Each watched
cluster/namespace runs the blocking watch (`agents/toolsets/kubernetes/events_watch.py`, the only
code that talks to the Kubernetes client) in a thread; events cross to the event loop through a
queue and are ingested one at a time like a one-alert Alertmanager delivery.

An event becomes an alert whose fingerprint is cluster/namespace/object/reason and whose startsAt
is the event's first timestamp, so a repeating event (count+1) is the same alert, not a new one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import threading
from datetime import UTC, datetime

from agents.context import ClusterRef
from agents.toolsets.kubernetes.events_watch import WarningEvent, WarningEventWatch
from app.clusters import ClusterRegistry
from app.db.pool import is_outage
from app.incidents.alerts import AlertBatch, AlertClassifier
from app.incidents.grouping import owner_of_replicaset
from app.incidents.store import IncidentStore
from app.settings import Settings

log = logging.getLogger(__name__)

WATCHED_REASONS = frozenset({
    "OOMKilling", "BackOff", "FailedScheduling", "Failed", "FailedMount", "FailedAttachVolume", "Unhealthy",
    "NodeNotReady", "FailedCreate", "ProvisioningFailed", "BackoffLimitExceeded", "Evicted",
})
# Which alert label names an involved object of each kind (kube-state-metrics' label names).
_KIND_LABELS = {
    "Pod": "pod", "Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset",
    "Job": "job_name", "CronJob": "cronjob", "Node": "node", "PersistentVolumeClaim": "persistentvolumeclaim",
    "HorizontalPodAutoscaler": "horizontalpodautoscaler",
}
WATCH_TIMEOUT_SECONDS = 300
_QUEUE_LIMIT = 10_000
STORE_RETRY_FIRST_SECONDS = 0.5
STORE_RETRY_MAX_SECONDS = 30.0


def event_labels(event: WarningEvent, cluster_label: str) -> dict[str, str]:
    kind, name = event.involved_kind, event.involved_name
    if kind == "ReplicaSet":  # a Deployment's ReplicaSet failing to create pods is the Deployment's fault
        owner = owner_of_replicaset(name)
        kind, name = owner.kind, owner.name
    labels = {"alertname": event.reason, "severity": "warning", cluster_label: event.cluster,
              "source": "kubernetes_event", "involved_kind": event.involved_kind}
    if event.involved_namespace or kind != "Node":
        labels["namespace"] = event.involved_namespace or event.namespace
    if kind in _KIND_LABELS:
        labels[_KIND_LABELS[kind]] = name
    else:
        labels["resource"] = f"{kind}/{name}"
    return labels


def _parse_time(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class WarningEventIntake:
    def __init__(self, settings: Settings, clusters: ClusterRegistry, incidents: IncidentStore,
                 classifier: AlertClassifier, *, watch_timeout_seconds: int = WATCH_TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.clusters = clusters
        self.incidents = incidents
        self.classifier = classifier
        self.watch_timeout_seconds = watch_timeout_seconds
        self.watches: list[WarningEventWatch] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queue: asyncio.Queue[WarningEvent] = asyncio.Queue(_QUEUE_LIMIT)
        self._consumer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        cluster_ids = self.settings.k8s_events_clusters or [self.clusters.default]
        namespaces: list[str | None] = list(self.settings.k8s_events_namespaces) or [None]
        for cluster_id in cluster_ids:
            found = self.clusters.get(cluster_id)
            if found is None:
                log.error("Warning-event intake: %s", self.clusters.unknown_reason(cluster_id))
                continue
            ref = ClusterRef(found.id, found.kubeconfig, found.context)
            for namespace in namespaces:
                watcher = await asyncio.to_thread(WarningEventWatch, ref, namespace,
                                                  timeout_seconds=self.watch_timeout_seconds)
                self.watches.append(watcher)
                thread = threading.Thread(target=self._pump, args=(watcher, loop), daemon=True,
                                          name=f"opsgraph-events-{cluster_id}-{namespace or 'all'}")
                thread.start()
                self._threads.append(thread)
        self._consumer = asyncio.create_task(self._consume(), name="opsgraph-k8s-events")
        log.info("Warning-event intake started", extra={"clusters": cluster_ids, "watches": len(self._threads)})

    async def stop(self) -> None:
        self._stop.set()
        if self._consumer is not None:
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)
        # The threads are daemons blocked in a watch read; they end at the watch timeout at the latest.

    def _pump(self, watcher: WarningEventWatch, loop: asyncio.AbstractEventLoop) -> None:
        for event in watcher.stream(self._stop):
            if event.reason not in WATCHED_REASONS:
                continue
            future = asyncio.run_coroutine_threadsafe(self._queue.put(event), loop)
            # Back-pressure: the watch waits while the database is behind, but not past a stop.
            while not self._stop.is_set():
                try:
                    future.result(timeout=1.0)
                    break
                except concurrent.futures.TimeoutError:
                    continue
            if self._stop.is_set():
                future.cancel()
                return

    async def _consume(self) -> None:
        while True:
            await self._store(await self._queue.get())

    async def _store(self, event: WarningEvent) -> None:
        """Store the event, waiting out a database outage: the watch has already moved past it.

        While this waits, the queue fills and the watches wait too (back-pressure), so nothing read is
        dropped. An error that is not an outage would fail the same way again: it is logged and skipped.
        """
        delay = STORE_RETRY_FIRST_SECONDS
        while True:
            try:
                await self.ingest(event)
                return
            except Exception as exc:
                if not is_outage(exc):
                    log.exception("Warning event %s on %s/%s could not be stored; skipped", event.reason,
                                  event.involved_kind, event.involved_name)
                    return
                log.warning("Warning event %s on %s/%s not stored yet (database unavailable: %s); trying again "
                            "in %g s", event.reason, event.involved_kind, event.involved_name, exc, delay)
            await asyncio.sleep(delay)  # back-off while the database is away
            delay = min(delay * 2, STORE_RETRY_MAX_SECONDS)

    async def ingest(self, event: WarningEvent) -> list[int]:
        labels = event_labels(event, self.settings.cluster_label)
        identity = "/".join((event.cluster, labels.get("namespace", ""), event.involved_kind,
                             event.involved_name, event.reason))
        alert = await self.classifier.classify(
            source="k8s_event", fingerprint="k8s-" + hashlib.sha256(identity.encode()).hexdigest()[:16],
            starts_at=_parse_time(event.first_seen), ends_at=None, status="firing", labels=labels,
            annotations={"description": event.message, "count": str(event.count)}, generator_url=None,
        )
        body = json.dumps({"kind": "Event", "uid": event.uid, "reason": event.reason, "message": event.message,
                           "count": event.count, "involvedObject": {"kind": event.involved_kind,
                                                                    "name": event.involved_name,
                                                                    "namespace": event.involved_namespace},
                           "firstTimestamp": event.first_seen, "lastTimestamp": event.last_seen,
                           "cluster": event.cluster}, sort_keys=True)
        result = await self.incidents.ingest(AlertBatch(source="k8s_event", body=body, group_key=None, alerts=[alert]))
        return result.incident_ids
