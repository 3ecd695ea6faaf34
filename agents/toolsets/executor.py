"""The one path every tool call takes: policy, validation, existence check, run with a timeout,
redaction and truncation, audit. Failures come back as `ToolResult`s, never as exceptions.

Nothing here ever acts on what a tool returned: output is data for the model (quoted by
`ToolResult.as_model_content`) and for the rules, so instructions planted in logs, names or events
have nothing to trigger.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from agents.audit import AuditRow, AuditSink
from agents.context import Context
from agents.knowledge.search import KnowledgeSearch
from agents.safety.policy import decide, decide_scope
from agents.safety.redaction import redact, redact_obj
from agents.safety.validation import describe_validation_error, validate_args
from agents.toolsets.base import ToolEnv, ToolFailure, ToolOutput, ToolResult, ToolSpec, ToolStatus
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.registry import ToolRegistry
from agents.toolsets.transformers import apply_transformers

log = logging.getLogger(__name__)


class ToolExecutor:
    """Runs tool calls for one agent of one incident against the incident's own cluster."""

    def __init__(self, registry: ToolRegistry, context: Context, *, agent: str, allowed: Iterable[str],
                 audit: AuditSink | None = None, clients: ClusterClients | None = None,
                 approval: str | None = None, knowledge: KnowledgeSearch | None = None) -> None:
        self.registry, self.context, self.agent = registry, context, agent
        self.knowledge = knowledge  # the knowledge base search_knowledge reads (None: not connected)
        self.approval = approval  # the diff hash of the approved plan: direct actions run only with one
        self.allowed = frozenset(allowed)
        self.audit = audit
        self.clients = clients or ClusterClients()
        self.calls: list[ToolResult] = []  # every call this executor made, in order
        self.cluster_unreachable = False  # set when a call found the cluster API unreachable

    async def call(self, name: str, args: dict[str, Any], *, call_id: str | None = None) -> ToolResult:
        """Run one tool call; every outcome, including refusals and failures, is a ToolResult."""
        call_id = call_id or f"call_{len(self.calls) + 1}_{uuid.uuid4().hex[:8]}"
        started = time.monotonic()
        spec = self.registry.get(name)
        result = await self._run(spec, name, args, call_id)
        result.duration_ms = round((time.monotonic() - started) * 1000, 1)
        self.calls.append(result)
        await self._record(result)
        return result

    async def _run(self, spec: ToolSpec | None, name: str, args: Any, call_id: str) -> ToolResult:
        raw_args = redact_obj(args) if isinstance(args, dict) else {"_raw": redact(repr(args))[:500]}

        def fail(status: ToolStatus, message: str, shown_args: dict[str, Any] = raw_args) -> ToolResult:
            return ToolResult(call_id=call_id, tool=name, args=shown_args, status=status, message=redact(message),
                              metadata={"cluster": self.context.cluster.id})

        decision = decide(name, spec.safety if spec else None, agent=self.agent, allowed=self.allowed,
                          direct_actions=bool(self.context.direct_actions), approved=self.approval is not None)
        if decision.verdict == "refuse" or spec is None:
            return fail(ToolStatus.REFUSED, decision.message)
        if decision.verdict == "approval_required":
            return fail(ToolStatus.APPROVAL_REQUIRED, decision.message)
        toolset = self.registry.toolset(spec.toolset)
        status = toolset.status(self.context) if toolset else None
        if status is not None and not status.enabled:
            return fail(ToolStatus.REFUSED, f"refused: {name} is not available: {status.reason}.")
        try:
            params = validate_args(spec.params, args)
        except ValidationError as exc:
            return fail(ToolStatus.ERROR, describe_validation_error(name, exc))
        except TypeError as exc:
            return fail(ToolStatus.ERROR, f"invalid arguments for {name}: {exc}.")
        shown_args = redact_obj(params.model_dump(mode="json", exclude_none=True))
        namespace = getattr(params, "namespace", None)
        scope = decide_scope(name, spec.safety, cluster=self.context.cluster.id, namespace=namespace,
                             enabled=self.context.allows_direct_action(namespace))
        if scope.verdict == "refuse":
            return fail(ToolStatus.REFUSED, scope.message, shown_args)
        env = ToolEnv(self.context, self.clients, spec.timeout_seconds, self.knowledge)
        try:
            output = await asyncio.wait_for(self._checked_run(spec, env, params), spec.timeout_seconds)
        except TimeoutError:
            return fail(ToolStatus.ERROR, f"{name} timed out after {spec.timeout_seconds:g} s; try a narrower "
                                          "query or continue without it.", shown_args)
        except Exception as exc:  # a tool failure is data for the model, whatever raised it
            failure = self._explain(spec, exc)
            if failure.unreachable:
                self.cluster_unreachable = True
            return fail(failure.status, f"{name} failed: {failure.message}", shown_args)
        raw_text = output.text or ""
        text, truncated = apply_transformers(spec.transformers, raw_text, spec.output_cap)
        return ToolResult(call_id=call_id, tool=name, args=shown_args, status=output.status, text=text,
                          data=redact_obj(output.data), message=redact(output.message),
                          bytes=len(raw_text.encode()), truncated=truncated,
                          metadata={"cluster": self.context.cluster.id})

    async def _checked_run(self, spec: ToolSpec, env: ToolEnv, params: BaseModel) -> ToolOutput:
        """The hallucination guard, then the tool; both inside the same timeout."""
        toolset = self.registry.toolset(spec.toolset)
        if toolset is not None and toolset.check_refs is not None:
            missing = await toolset.check_refs(env, spec, params)
            if missing:
                return ToolOutput("", None, ToolStatus.ERROR, missing + "; use a name that exists.")
        if inspect.iscoroutinefunction(spec.fn):
            return await spec.fn(env, params)
        output = await asyncio.to_thread(spec.fn, env, params)
        if inspect.isawaitable(output):
            output = await output
        return output

    def _explain(self, spec: ToolSpec, exc: Exception) -> ToolFailure:
        toolset = self.registry.toolset(spec.toolset)
        failure = toolset.explain(exc) if toolset is not None and toolset.explain is not None else None
        if failure is None:
            failure = exc if isinstance(exc, ToolFailure) else None
        if failure is None:
            log.warning("tool %s raised unexpectedly", spec.name, exc_info=exc)
            failure = ToolFailure(f"{type(exc).__name__}: {exc}")
        if failure.unreachable and not failure.message.startswith("cluster API unreachable"):
            failure = ToolFailure(f"cluster API unreachable: {failure.message}", unreachable=True)
        return failure

    async def _record(self, result: ToolResult) -> None:
        if self.audit is None:
            return
        row = AuditRow(incident_id=self.context.incident_id, cluster=self.context.cluster.id, agent=self.agent,
                       tool=result.tool, call_id=result.call_id, args=result.args, status=result.status.value,
                       message=result.message, duration_ms=result.duration_ms, bytes=result.bytes,
                       truncated=result.truncated)
        try:
            await self.audit.record(row)
        except Exception:  # a broken audit store must not lose the answer; it is logged loudly instead
            log.exception("audit row for %s (incident %s) was not written", result.tool, self.context.incident_id)
