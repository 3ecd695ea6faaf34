"""How Kubernetes client failures read, and the hallucination guard for referenced objects.

A failure becomes one sentence for the model ("pod 'x' not found in namespace 'y' (pods there: ...)"),
never an exception in the loop. Connection failures are flagged `unreachable`, so the executor can tell
the graph the cluster is down rather than that the model asked for something wrong.
"""

from __future__ import annotations

import asyncio
import json

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException
from pydantic import BaseModel

from agents.toolsets.base import ToolEnv, ToolFailure, ToolSpec
from agents.toolsets.kubernetes.kinds import UnknownKind, resolve_kind
from agents.toolsets.kubernetes.reader import ClusterReader, cluster_reader

MAX_NAMES_LISTED = 10
_UNREACHABLE = (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError, OSError)


def api_message(exc: ApiException) -> str:
    """The API's own message from a Status body, else the HTTP reason."""
    try:
        body = json.loads(exc.body or "")
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    except ValueError:
        pass
    return f"{exc.status} {exc.reason}"


def explain(exc: BaseException) -> ToolFailure | None:
    """A ToolFailure for the failures this toolset expects; None lets the executor word the rest."""
    if isinstance(exc, ToolFailure):
        return exc
    if isinstance(exc, UnknownKind):
        return ToolFailure(str(exc))
    if isinstance(exc, ApiException):
        message = api_message(exc)
        if exc.status == 404:
            return ToolFailure(f"not found: {message}")
        if exc.status in (401, 403):
            return ToolFailure(f"the cluster refused the read ({exc.status}): {message}; opsgraph's read-only "
                               "RBAC may not cover it")
        if exc.status and exc.status >= 500:
            return ToolFailure(f"the cluster API failed ({exc.status}): {message}")
        return ToolFailure(f"the cluster API rejected the request: {message}")
    if isinstance(exc, _UNREACHABLE):
        reason = getattr(exc, "reason", None) or exc
        return ToolFailure(f"cluster API unreachable: {type(reason).__name__}: {reason}", unreachable=True)
    return None


def _names(reader: ClusterReader, kind: str, namespace: str | None) -> str:
    items = reader.list(kind, namespace, limit=200)
    names = sorted(i["metadata"]["name"] for i in items)
    shown = ", ".join(names[:MAX_NAMES_LISTED]) or "none"
    return shown + (f" and {len(names) - MAX_NAMES_LISTED} more" if len(names) > MAX_NAMES_LISTED else "")


def _missing_reference(reader: ClusterReader, spec: ToolSpec, params: BaseModel) -> str | None:
    namespace = getattr(params, "namespace", None)
    if namespace and reader.maybe_get("Namespace", None, namespace) is None:
        return f"namespace '{namespace}' does not exist (namespaces: {_names(reader, 'Namespace', None)})"
    kind_name, name = getattr(params, "kind", None) or spec.kind, getattr(params, "name", None)
    if not (kind_name and name):
        return None
    try:
        info = resolve_kind(kind_name)
    except UnknownKind as exc:
        return str(exc)
    if info.namespaced and not namespace:
        return f"{info.kind} is namespaced: give the namespace of '{name}'"
    if reader.maybe_get(info, namespace if info.namespaced else None, name) is not None:
        return None
    where = f" in namespace '{namespace}'" if info.namespaced else ""
    there = f"{info.plural} there" if info.namespaced else info.plural
    scope = namespace if info.namespaced else None
    return f"{info.kind.lower()} '{name}' not found{where} ({there}: {_names(reader, info.kind, scope)})"


async def check_refs(env: ToolEnv, spec: ToolSpec, params: BaseModel) -> str | None:
    """The hallucination guard: the namespace and the named object exist, or a message listing real ones."""
    return await asyncio.to_thread(lambda: _missing_reference(cluster_reader(env), spec, params))
