"""Server-side dry run of a planned change: would the incident's cluster accept these objects?

The GitOps checks (schema, policy) cannot see what only the API server knows: immutable fields
(a Deployment's selector, a PVC's spec), admission webhooks, quota. With `OPSGRAPH_DRY_RUN` on, each
rendered object the change touches is sent as a server-side apply with `dryRun=All` (nothing is
persisted), and a 400/422 answer becomes a validation problem for the planner.

This is a write verb, so it needs `patch` on the workload kinds, which the shipped read-only RBAC
does not grant: a 401/403 or an unreachable API is reported as a warning and blocks nothing.
Only the remediation agent uses it, and every request is audited like a tool call
(tool `dry_run_apply`, agent `remediation`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kubernetes.client.exceptions import ApiException

from agents.audit import AuditRow, AuditSink
from agents.context import Context
from agents.safety.redaction import redact
from agents.toolsets.failure import ToolFailure
from agents.toolsets.kubernetes.clients import CONNECT_TIMEOUT_SECONDS, ClusterClients
from agents.toolsets.kubernetes.failures import api_message, explain
from agents.toolsets.kubernetes.kinds import UnknownKind, resolve_kind

log = logging.getLogger(__name__)

TOOL = "dry_run_apply"
AGENT = "remediation"
FIELD_MANAGER = "opsgraph-dry-run"

Verdict = Literal["accepted", "rejected", "unchecked"]


@dataclass(frozen=True)
class DryRunResult:
    object: str  # Kind/namespace/name
    verdict: Verdict
    message: str = ""  # the API's own message when rejected, why it was not checked otherwise


class ServerDryRun:
    """Dry-runs objects against `context.cluster`; built once per process by `app/`."""

    def __init__(self, clients: ClusterClients, audit: AuditSink | None = None, *,
                 timeout_seconds: float = 10.0) -> None:
        self.clients = clients
        self.audit = audit
        self.timeout_seconds = timeout_seconds

    async def check(self, context: Context, objects: Sequence[dict[str, Any]]) -> list[DryRunResult]:
        results = []
        for obj in objects:
            started = time.monotonic()
            result = await asyncio.to_thread(self._apply, context, obj)
            await self._audit(context, obj, result, (time.monotonic() - started) * 1000)
            results.append(result)
        return results

    def _apply(self, context: Context, obj: dict[str, Any]) -> DryRunResult:
        meta = obj.get("metadata") or {}
        name, namespace = str(meta.get("name") or ""), meta.get("namespace") or "default"
        label = f"{obj.get('kind')}/{namespace}/{name}"
        try:
            info = resolve_kind(str(obj.get("kind") or ""))
        except UnknownKind:
            return DryRunResult(label, "unchecked", f"kind {obj.get('kind')!r} is not one these tools know")
        if not info.namespaced:
            label = f"{info.kind}/{name}"
        try:
            api = self.clients.for_cluster(context.cluster)
            method, url, headers, body, post = api.param_serialize(
                method="PATCH", resource_path=info.path(namespace, name),
                query_params=[("dryRun", "All"), ("fieldManager", FIELD_MANAGER), ("force", "true")],
                header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"},
                body=json.dumps(obj), auth_settings=["BearerToken"])
            response = api.call_api(method, url, headers, body, post,
                                    _request_timeout=(CONNECT_TIMEOUT_SECONDS, self.timeout_seconds))
            response.read()
            if not 200 <= response.status <= 299:
                raise ApiException(http_resp=response)
        except ApiException as exc:
            if exc.status in (400, 409, 422):
                return DryRunResult(label, "rejected", api_message(exc))
            failure = explain(exc) or ToolFailure(f"{exc.status} {exc.reason}")
            return DryRunResult(label, "unchecked", failure.message)
        except Exception as exc:  # unreachable, bad credentials: the dry run is skipped, not the plan
            failure = explain(exc) or ToolFailure(f"{type(exc).__name__}: {exc}")
            return DryRunResult(label, "unchecked", failure.message)
        return DryRunResult(label, "accepted")

    async def _audit(self, context: Context, obj: dict[str, Any], result: DryRunResult, duration_ms: float) -> None:
        if self.audit is None:
            return
        status = {"accepted": "ok", "rejected": "error", "unchecked": "error"}[result.verdict]
        row = AuditRow(incident_id=context.incident_id, cluster=context.cluster.id, agent=AGENT, tool=TOOL,
                       call_id=f"dry_run_{uuid.uuid4().hex[:8]}", args={"object": result.object, "dryRun": "All"},
                       status=status, message=redact(result.message), duration_ms=round(duration_ms, 1),
                       bytes=len(json.dumps(obj)), truncated=False)
        try:
            await self.audit.record(row)
        except Exception:  # as in the executor: a broken audit store is logged loudly, the answer kept
            log.exception("audit row for %s (incident %s) was not written", TOOL, context.incident_id)
