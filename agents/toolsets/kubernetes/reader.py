"""Read-only access to one cluster's API as plain dicts, shaped exactly as the API serves them.

Objects stay in their wire form (camelCase, as `kubectl get -o json` prints them), so the text the
tools render, the `data` the rule engine reads and the YAML a person sees use the same field names.
Every request carries a connect and a read timeout.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from agents.toolsets.base import ToolEnv
from agents.toolsets.kubernetes.clients import CONNECT_TIMEOUT_SECONDS
from agents.toolsets.kubernetes.kinds import KindInfo, resolve_kind

Obj = dict[str, Any]


class ClusterReader:
    def __init__(self, api: ApiClient, timeout_seconds: float) -> None:
        self.api = api
        self.timeout = (min(CONNECT_TIMEOUT_SECONDS, timeout_seconds), timeout_seconds)

    def _request(self, path: str, query: list[tuple[str, Any]] | None = None, *, raw: bool = False) -> Any:
        method, url, headers, body, post = self.api.param_serialize(
            method="GET", resource_path=path, query_params=query or [],
            header_params={"Accept": "text/plain" if raw else "application/json"}, auth_settings=["BearerToken"])
        response = self.api.call_api(method, url, headers, body, post, _request_timeout=self.timeout)
        data = response.read()
        if not 200 <= response.status <= 299:
            raise ApiException(http_resp=response)
        text = data.decode("utf-8", errors="replace")
        return text if raw else json.loads(text)

    def get(self, kind: str | KindInfo, namespace: str | None, name: str) -> Obj:
        info = kind if isinstance(kind, KindInfo) else resolve_kind(kind)
        return self._request(info.path(namespace, name))

    def maybe_get(self, kind: str | KindInfo, namespace: str | None, name: str) -> Obj | None:
        """The object, or None when the API answers 404."""
        try:
            return self.get(kind, namespace, name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, kind: str | KindInfo, namespace: str | None = None, *, label_selector: str | None = None,
             field_selector: str | None = None, limit: int | None = None) -> list[Obj]:
        info = kind if isinstance(kind, KindInfo) else resolve_kind(kind)
        query: list[tuple[str, Any]] = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        if limit:
            query.append(("limit", limit))
        return list(self._request(info.path(namespace), query).get("items") or [])

    def log(self, namespace: str, pod: str, *, container: str | None, previous: bool,
            tail_lines: int | None) -> str:
        query: list[tuple[str, Any]] = [("previous", "true" if previous else "false")]
        if container:
            query.append(("container", container))
        if tail_lines:
            query.append(("tailLines", tail_lines))
        return self._request(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query, raw=True)

    def events_for(self, kind: str, namespace: str | None, name: str) -> list[Obj]:
        """Events about one object, oldest first (kubectl describe's Events table)."""
        selector = f"involvedObject.name={name},involvedObject.kind={kind}"
        events = self.list("Event", namespace, field_selector=selector)
        return sorted(events, key=event_time)


def event_time(event: Obj) -> str:
    return (event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
            or event.get("metadata", {}).get("creationTimestamp") or "")


def cluster_reader(env: ToolEnv) -> ClusterReader:
    """The reader for the incident's own cluster (Context.cluster), with the tool's timeout."""
    return ClusterReader(env.clients.for_cluster(env.context.cluster), env.timeout_seconds)
