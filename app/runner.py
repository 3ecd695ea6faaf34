"""The incident runner: what a worker calls with a claimed work item. It runs (or resumes) the
incident's graph thread and writes what the graph concluded back to the incident.

The supervisor is compiled once per process with the Postgres checkpointer; the thread id is the
incident id, so a run resumed on another replica continues from the last checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langchain_core.language_models import BaseChatModel
from langgraph.config import get_stream_writer
from langgraph.types import Command

from agents.chat.turns import ChatSetup

from agents.audit import AuditSink
from agents.context import Budgets, ClusterRef, Context
from agents.diagnosis import IncidentInput, ResourceRef
from agents.errors import PermanentError, TemporaryError
from agents.investigation import Toolbox
from agents.knowledge.history import IncidentHistory
from agents.knowledge.search import KnowledgeSearch
from agents.remediation import ChangeClaims, RemediationSetup
from agents.skills.loader import load_skills
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.shipped import default_registry
from app.audit_store import ToolAuditStore
from app.crash_points import CrashBeforeNode, CrashPoint
from app.incidents.claims import ChangeClaimStore
from app.help.store import HelpStore
from app.incidents.queue import RunOutcome, WorkItem
from app.incidents.status import IncidentStatus
from app.incidents.store import IncidentStore
from app.services import Services
from app.workers import IncidentRunner
from app.settings import Settings
from graphs.supervisor import build_supervisor_graph, run_config

log = logging.getLogger(__name__)

ACTOR = "opsgraph"
TOOLSETS = frozenset({"kubernetes", "kubernetes_actions", "prometheus", "registry", "web_search"})  # each still needs its prerequisite


class IncidentTimeline:
    """agents.timeline.Timeline over the incident store; every step is also a `custom` stream event, so a
    chat stream shows the agents' steps (a chat thread's steps go only there: it has no incident)."""

    def __init__(self, incidents: IncidentStore) -> None:
        self.incidents = incidents

    async def add(self, incident_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        if incident_id.isdigit():
            await self.incidents.add_timeline(int(incident_id), kind, message, actor=ACTOR, data=data)
        try:
            writer = get_stream_writer()
        except RuntimeError:  # called outside a graph run
            return
        writer({"step": kind, "message": message, "data": data or {}})


def reopened_escalation(row: dict[str, Any]) -> dict[str, Any]:
    """Why a person is asked after a failed verification, with the revert the verifier proposed."""
    proposal = next((e["data"] for e in reversed(row.get("timeline") or []) if e["kind"] == "revert_proposed"), {})
    revert = f"; proposed revert: `{proposal['command']}`" if proposal.get("command") else ""
    return {"reason": f"{row.get('status_reason') or 'the merged fix did not help'}{revert}", "from": "verification",
            "revert": proposal or None}


def budgets_from(settings: Settings) -> Budgets:
    return Budgets(max_steps=settings.diagnosis_max_steps, max_tokens=settings.diagnosis_token_budget,
                   wall_clock_seconds=settings.diagnosis_timeout_seconds)


def chat_setup(settings: Settings) -> ChatSetup:
    return ChatSetup(kubernetes_version=settings.kubernetes_version, repair_attempts=settings.chat_repair_attempts)


def build_toolbox(settings: Settings, audit: AuditSink | None, model: BaseChatModel | None = None, *,
                  knowledge: KnowledgeSearch | None = None, history: IncidentHistory | None = None) -> Toolbox:
    if model is None and settings.model_configured:
        from agents.models.factory import openai_compatible_model

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        model = openai_compatible_model(settings.model, api_key=key, base_url=settings.openai_base_url)
    registry = default_registry()
    return Toolbox(registry, load_skills(tool_names=registry.names()), ClusterClients(), audit, model,
                   knowledge=knowledge, history=history)


def incident_input(row: dict[str, Any]) -> IncidentInput:
    """The incident as the graph sees it: where, what, and its alerts (labels, annotations, status)."""
    resource = None
    if row.get("resource_kind") and row.get("resource_name"):
        resource = ResourceRef(kind=row["resource_kind"], namespace=row.get("namespace"), name=row["resource_name"])
    alerts = [{"labels": a.get("labels") or {}, "annotations": a.get("annotations") or {},
               "status": a.get("status", "firing"), "startsAt": str(a.get("starts_at") or ""),
               "fingerprint": a.get("fingerprint")}
              for a in row.get("alerts") or []]
    return IncidentInput(cluster=row["cluster"], namespace=row.get("namespace"), resource=resource, alerts=alerts)


def remediation_setup(settings: Settings, toolbox: Toolbox | None = None,
                      claims: ChangeClaims | None = None) -> RemediationSetup:
    """The GitOps side; with a toolbox, its model corrects failing plans and its clients run the dry run."""
    from app.integrations.pull_requests import pull_request_opener

    dry_run = None
    if settings.dry_run and toolbox is not None:
        from agents.toolsets.kubernetes.dry_run import ServerDryRun

        dry_run = ServerDryRun(toolbox.clients, toolbox.audit)
    return RemediationSetup(
        repo_url=settings.gitops_repo_url, work_root=settings.gitops_work_dir or settings.data_dir / "gitops",
        opener=pull_request_opener(settings), base_branch=settings.gitops_base_branch,
        author_name=settings.git_author_name, author_email=settings.git_author_email,
        kubernetes_version=settings.kubernetes_version, approval_ttl_seconds=settings.approval_ttl_seconds,
        model=toolbox.model if toolbox is not None else None, replan_attempts=settings.replan_attempts,
        dry_run=dry_run, claims=claims,
        step_done=CrashPoint(settings.test_crash_at).reach if settings.test_crash_at else None)


class GraphRunner:
    def __init__(self, services: Services, toolbox: Toolbox) -> None:
        self.services = services
        self.incidents = services.incidents
        self.approvals = services.approvals
        self.help = HelpStore(services.database.pool, services.queue)
        self.budgets = budgets_from(services.settings)
        self.toolsets = TOOLSETS | ({"knowledge"} if toolbox.knowledge is not None else set())
        self.graph = build_supervisor_graph(toolbox, IncidentTimeline(services.incidents),
                                            AsyncPostgresSaver(services.database.pool),  # type: ignore[arg-type]
                                            remediation=remediation_setup(
                                                services.settings, toolbox, ChangeClaimStore(services.database.pool)),
                                            chat=chat_setup(services.settings), human_help=True)

    def context_for(self, incident_id: int | str, cluster_id: str) -> Context | None:
        cluster = self.services.clusters.get(cluster_id)
        if cluster is None:
            return None
        settings = self.services.settings
        return Context(incident_id=str(incident_id), budgets=self.budgets,
                       cluster=ClusterRef(cluster.id, cluster.kubeconfig, cluster.context),
                       model=settings.model if settings.model_configured else None, enabled_toolsets=self.toolsets,
                       prometheus_url=settings.prometheus_url, registry_mirrors=settings.registry_mirror_pairs,
                       direct_actions=frozenset(settings.direct_actions),
                       tavily_api_key=settings.tavily_api_key.get_secret_value() if settings.tavily_api_key else None)

    async def run(self, item: WorkItem, *, resume: bool) -> RunOutcome:
        row = await self.incidents.get(item.incident_id)
        context = self.context_for(item.incident_id, row["cluster"])
        if context is None:
            reason = self.services.clusters.unknown_reason(row["cluster"]) or "unknown cluster"
            await self.incidents.transition(item.incident_id, IncidentStatus.FAILED, actor=ACTOR, message=reason,
                                            reason=reason)
            return RunOutcome.failed(reason)
        status = row["status"]
        if status == IncidentStatus.OPEN:
            await self.incidents.transition(item.incident_id, IncidentStatus.DIAGNOSING, actor=ACTOR,
                                            message="diagnosis started")
            status = IncidentStatus.DIAGNOSING
        config = run_config(item.thread_id, self.budgets)
        if self.services.settings.test_crash_at:
            config["callbacks"] = [CrashBeforeNode(CrashPoint(self.services.settings.test_crash_at))]
        snapshot = await self.graph.aget_state(config)
        # A thread that finished earlier (its outcome was lost with a worker) is only recorded again.
        finished = bool(snapshot.values) and not snapshot.next and not snapshot.interrupts
        graph_input: Any = None
        if status == IncidentStatus.REOPENED and (finished or not snapshot.values):
            if not snapshot.values:  # no graph ever ran for it (e.g. made by hand): the timeline is all there is
                return RunOutcome.done(f"incident {item.incident_id} reopened with no graph thread to ask from")
            # The merged fix did not help: the finished thread asks a person, as after any failed remediation.
            await self.graph.aupdate_state(config, {"escalation": reopened_escalation(row)}, as_node="remediation")
            snapshot = await self.graph.aget_state(config)  # next: human_help, continued below with no input
            finished = False
        if snapshot.interrupts and snapshot.interrupts[0].value.get("kind") == "help":
            # Paused on a question to a person (human_help): resume only with the reply they recorded.
            request = snapshot.interrupts[0].value
            reply = await self.help.reply_for(request["request_id"])
            if reply is None:
                return await self._record(item.incident_id, status, snapshot.values, request)
            if reply.action == "diagnose" and status != IncidentStatus.DIAGNOSING:
                await self.incidents.transition(item.incident_id, IncidentStatus.DIAGNOSING, actor=reply.responder,
                                                message=f"diagnosing again with a hint from {reply.responder}")
                status = IncidentStatus.DIAGNOSING
            graph_input = Command(resume=reply.model_dump(mode="json"))
        elif snapshot.interrupts:
            # Paused at the approval gate: resume only with the decision a person recorded.
            request = snapshot.interrupts[0].value
            decision = await self.approvals.decision_for(item.incident_id, request.get("diff_hash", ""))
            if decision is None:
                return await self._record(item.incident_id, status, snapshot.values, request)
            graph_input = Command(resume=decision.model_dump(mode="json"))
        elif not snapshot.next and not finished:
            graph_input = {"incident": incident_input(row).model_dump(mode="json")}  # a new thread
        # (pending nodes continue from the checkpoint with no input)
        if not finished:
            try:
                # A hung model or cluster call is bounded too, not only the steps between them.
                async with asyncio.timeout(self.budgets.wall_clock_seconds * 1.5 + 30):
                    # Each step's checkpoint is written before the next step starts: a worker killed
                    # mid-run resumes after the last finished step, and never re-runs one that already
                    # committed, pushed or commented (the default writes checkpoints in the background).
                    await self.graph.ainvoke(graph_input, config, context=context, durability="sync")
            except TemporaryError as exc:  # e.g. GitHub 5xx: the checkpoint keeps everything done so far
                return RunOutcome.retry(f"incident {item.incident_id}: {exc}", exc.delay)
            except PermanentError as exc:  # e.g. a revoked token: retrying is useless, a person must act
                await self.incidents.transition(item.incident_id, IncidentStatus.AWAITING_HUMAN, actor=ACTOR,
                                                message=f"needs a person: {exc}", reason=str(exc))
                return RunOutcome.done(f"handed to a person: {exc}")  # the item is finished, the incident kept
        after = await self.graph.aget_state(config)
        pending = after.interrupts[0].value if after.interrupts else None
        outcome = await self._record(item.incident_id, status, after.values, pending)
        if isinstance(graph_input, Command) and request.get("kind") != "help":
            # Only once the incident has moved on: an applied decision on an incident still awaiting that
            # change reads as the change asked again, and a second click would be recorded as a new answer.
            await self.approvals.mark_applied(item.incident_id, request["diff_hash"])
        return outcome

    async def _record(self, incident_id: int, status: str, state: dict[str, Any],
                      pending: dict[str, Any] | None = None) -> RunOutcome:
        diagnosis = state.get("diagnosis")
        if diagnosis is None:
            return RunOutcome.failed("the graph ended without a diagnosis")
        await self.incidents.set_result(incident_id, "diagnosis", diagnosis)
        summary = f"{diagnosis['category']}: {diagnosis['root_cause']}"
        if pending is not None and pending.get("kind") == "help":
            await self.help.ask(incident_id, pending)
            if status != IncidentStatus.REOPENED:  # reopened already says a person must look (and why)
                await self.incidents.transition(incident_id, IncidentStatus.AWAITING_HUMAN, actor=ACTOR,
                                                message=f"needs a person: {pending['reason']}",
                                                reason=pending["reason"])
            return RunOutcome.done(f"asked a person ({pending['request_id']}): {pending['reason']}")
        if state.get("resolution"):
            resolution = state["resolution"]
            await self.incidents.transition(incident_id, IncidentStatus.RESOLVED, actor=resolution["by"],
                                            message=f"resolved by {resolution['by']}: {resolution['text']}",
                                            reason=f"resolved by {resolution['by']}: {resolution['text']}")
            return RunOutcome.done(f"resolved by {resolution['by']}")
        if pending is not None:
            await self.incidents.set_result(incident_id, "plan", pending)
            if status != IncidentStatus.AWAITING_APPROVAL:
                await self.incidents.transition(incident_id, IncidentStatus.AWAITING_APPROVAL, actor=ACTOR,
                                                message=f"change {pending['diff_hash'][:12]} awaits approval",
                                                reason="awaiting approval")
            return RunOutcome.done(f"awaiting approval of {pending['diff_hash'][:12]}")
        if state.get("plan"):
            await self.incidents.set_result(incident_id, "plan", state["plan"])
        if state.get("pr"):
            await self.incidents.set_result(incident_id, "pr", state["pr"])
            await self.incidents.transition(incident_id, IncidentStatus.REMEDIATING, actor=ACTOR,
                                            message=f"pull request {state['pr']['url']}", reason="awaiting merge")
            return RunOutcome.done(f"pull request {state['pr']['url']}")
        escalation = state.get("escalation") or {}
        if state.get("actions_done") and not escalation:
            await self.incidents.set_result(incident_id, "plan", {**(state.get("plan") or {}),
                                                                  "actions_done": state["actions_done"]})
            what = "; ".join(f"{d['tool']} {d['args'].get('namespace')}/{d['args'].get('name')}: {d['message']}"
                             for d in state["actions_done"])
            await self.incidents.transition(incident_id, IncidentStatus.REMEDIATING, actor=ACTOR,
                                            message=f"direct action(s) done: {what}", reason="applied directly")
            return RunOutcome.done(f"direct action(s) done: {what}")
        if escalation.get("from") == "remediation":
            await self.incidents.transition(incident_id, IncidentStatus.AWAITING_HUMAN, actor=ACTOR,
                                            message=f"needs a person: {escalation['reason']}",
                                            reason=escalation["reason"])
            return RunOutcome.done(summary)
        if diagnosis.get("status") == "failed":
            await self.incidents.transition(incident_id, IncidentStatus.AWAITING_HUMAN, actor=ACTOR,
                                            message=f"diagnosis failed: {diagnosis.get('failure_reason')}",
                                            reason=diagnosis.get("failure_reason"))
        elif diagnosis.get("needs_human"):
            await self.incidents.transition(incident_id, IncidentStatus.AWAITING_HUMAN, actor=ACTOR,
                                            message=f"needs a person: {diagnosis.get('reason_for_human')}",
                                            reason=diagnosis.get("reason_for_human"))
        else:
            # Nothing to change (healthy, or no fix proposed): a person takes the diagnosis from here.
            await self.incidents.transition(incident_id, IncidentStatus.AWAITING_HUMAN, actor=ACTOR,
                                            message=f"diagnosed: {summary}", reason="diagnosis ready")
        return RunOutcome.done(summary)


def build_graph_runner(services: Services, model: BaseChatModel | None = None) -> GraphRunner:
    from app.knowledge.memory import IncidentMemory
    from app.knowledge.setup import knowledge_base

    knowledge = knowledge_base(services.settings, services.database.pool)
    return GraphRunner(services, build_toolbox(services.settings, ToolAuditStore(services.database.pool), model,
                                               knowledge=knowledge,
                                               history=IncidentMemory(services.database.pool, knowledge)))


def build_incident_runner(services: Services, model: BaseChatModel | None = None) -> IncidentRunner:
    """What the workers call: `verify` items watch a merged fix, `chat_run` items run a chat turn, everything
    else runs the incident's graph. `model` replaces the configured one (tests pass a scripted model)."""
    from app.chat.runner import ChatRunRunner
    from app.chat.store import RUN_KIND, ChatStore
    from app.dispatch import KindRouter
    from app.verification import build_verification_runner

    from app.help.chat import ChatHelpStore

    graph_runner = build_graph_runner(services, model)
    chat_store = ChatStore(services.database.pool, services.queue.policy)
    chat = ChatRunRunner(chat_store, graph_runner.graph, graph_runner.context_for, graph_runner.budgets,
                         help_store=ChatHelpStore(services.database.pool, chat_store))
    return KindRouter({"verify": build_verification_runner(services), RUN_KIND: chat}, default=graph_runner)
