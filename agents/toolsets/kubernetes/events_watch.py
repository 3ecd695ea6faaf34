"""List and watch one cluster's Warning events, the way a controller's informer does.

This is the only place the event intake (`app/intake/k8s_events.py`) touches the Kubernetes
client. The stream lists first (that list's resourceVersion is where the watch starts), then
watches from the last resourceVersion it saw; each watch request ends after `timeout_seconds` and
the next resumes where it stopped. A `410 Gone` (the server no longer keeps history that old)
means events may have been missed: it relists, and skips the events it already delivered.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from agents.context import ClusterRef

log = logging.getLogger(__name__)

HTTP_GONE = 410
REMEMBERED_EVENTS = 10_000  # (uid, count) pairs kept to skip what a relist repeats
RECONNECT_SECONDS = 2.0


@dataclass(frozen=True)
class WarningEvent:
    cluster: str
    uid: str
    namespace: str
    reason: str
    message: str
    count: int
    involved_kind: str
    involved_name: str
    involved_namespace: str | None
    first_seen: str | None  # RFC 3339, as the API server sent it
    last_seen: str | None
    resource_version: str


def _api_client(cluster: ClusterRef) -> client.ApiClient:
    if cluster.in_cluster:
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    return config.new_client_from_config(
        config_file=str(cluster.kubeconfig) if cluster.kubeconfig else None, context=cluster.context)


def _event(cluster: str, obj: dict[str, Any]) -> WarningEvent:
    meta = obj.get("metadata") or {}
    involved = obj.get("involvedObject") or {}
    series = obj.get("series") or {}
    return WarningEvent(
        cluster=cluster,
        uid=str(meta.get("uid", "")),
        namespace=str(meta.get("namespace", "")),
        reason=str(obj.get("reason", "")),
        message=str(obj.get("message", "")),
        count=int(obj.get("count") or series.get("count") or 1),
        involved_kind=str(involved.get("kind", "")),
        involved_name=str(involved.get("name", "")),
        involved_namespace=involved.get("namespace"),
        first_seen=obj.get("firstTimestamp") or obj.get("eventTime") or meta.get("creationTimestamp"),
        last_seen=obj.get("lastTimestamp") or series.get("lastObservedTime") or obj.get("eventTime"),
        resource_version=str(meta.get("resourceVersion", "")),
    )


class WarningEventWatch:
    """Warning events of one cluster (one namespace, or all), as a blocking iterator for a thread."""

    def __init__(self, cluster: ClusterRef, namespace: str | None = None, *, timeout_seconds: int = 300) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.timeout_seconds = timeout_seconds
        self.relists = 0  # how often a 410 forced a relist (for tests and metrics)
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._api = client.CoreV1Api(_api_client(cluster))

    def stream(self, stop: threading.Event) -> Iterator[WarningEvent]:
        """Every Warning event once per (uid, count), until `stop` is set."""
        resource_version: str | None = None
        while not stop.is_set():
            try:
                if resource_version is None:
                    resource_version = yield from self._list()
                resource_version = yield from self._watch(resource_version, stop)
            except ApiException as exc:
                if exc.status == HTTP_GONE:
                    self.relists += 1
                    log.info("event watch on %s: resourceVersion %s expired (410 Gone); relisting",
                             self.cluster.id, resource_version)
                    resource_version = None
                    continue
                log.warning("event watch on %s failed: %s %s; reconnecting in %s s",
                            self.cluster.id, exc.status, exc.reason, RECONNECT_SECONDS)
                stop.wait(RECONNECT_SECONDS)
            except Exception as exc:  # unreachable API server: keep trying, the intake must not die
                log.warning("event watch on %s failed: %s; reconnecting in %s s", self.cluster.id, exc,
                            RECONNECT_SECONDS)
                stop.wait(RECONNECT_SECONDS)

    def _list_call(self, **kwargs: Any) -> Any:
        if self.namespace:
            return self._api.list_namespaced_event(self.namespace, field_selector="type=Warning", **kwargs)
        return self._api.list_event_for_all_namespaces(field_selector="type=Warning", **kwargs)

    def _list(self) -> Iterator[WarningEvent]:
        response = self._list_call(_preload_content=False)
        body = json.loads(response.data)
        for obj in body.get("items") or []:
            yield from self._fresh(obj)
        return str((body.get("metadata") or {}).get("resourceVersion", ""))

    def _watch(self, resource_version: str, stop: threading.Event) -> Iterator[WarningEvent]:
        watcher = watch.Watch()
        # The client raises ApiException(410) for an ERROR event itself when timeout_seconds is set.
        list_fn = self._api.list_namespaced_event if self.namespace else self._api.list_event_for_all_namespaces
        args = (self.namespace,) if self.namespace else ()
        for event in watcher.stream(list_fn, *args, field_selector="type=Warning", resource_version=resource_version,
                                    timeout_seconds=self.timeout_seconds):
            obj = event.get("raw_object") or {}
            resource_version = str((obj.get("metadata") or {}).get("resourceVersion") or resource_version)
            if event.get("type") in ("ADDED", "MODIFIED"):
                yield from self._fresh(obj)
            if stop.is_set():
                watcher.stop()
                break
        return resource_version

    def _fresh(self, obj: dict[str, Any]) -> Iterator[WarningEvent]:
        if obj.get("type") != "Warning":
            return
        event = _event(self.cluster.id, obj)
        key = (event.uid, event.count)
        if key in self._seen:
            return
        self._seen[key] = None
        if len(self._seen) > REMEMBERED_EVENTS:
            self._seen.popitem(last=False)
        yield event
