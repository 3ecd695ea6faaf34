"""The FastAPI application: `create_app(settings)` and the lifespan that owns the resources."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import EXCEPTION_HANDLERS, SafeJSONResponse
from app.api.routes import alerts, approvals, feedback, health, human_help, incidents, knowledge, slack, threads
from app.api.routes import thread_help
from app.approvals.store import ApprovalStore
from app.approvals.sweep import ApprovalSweep
from app.api.routes import github as github_webhook
from app.chat.service import ChatThreads
from app.chat.store import ChatStore
from app.clusters import ClusterError, ClusterRegistry
from app.db.embedded import EmbeddedPostgresError
from app.db.lifecycle import Database, open_database
from app.db.migrate import MigrationError
from app.db.pool import DatabaseUnavailable
from app.errors import StartupFailed
from app.incidents.alerts import AlertClassifier, ClusterNaming
from app.incidents.grouping import PodNameResolver, WorkloadResolver
from app.incidents.owners import ClusterOwnerResolver
from app.incidents.pull_requests import PullRequestStore
from app.incidents.queue import IntakeQueue, QueuePolicy
from app.incidents.store import IncidentStore
from app.workers import IncidentRunner, WorkerPool
from app.knowledge.ingest import ingest_starter_pack
from app.knowledge.memory import SWEEP_SECONDS, IncidentMemory
from app.knowledge.setup import knowledge_base
from app.knowledge.store import KnowledgeBase
from app.periodic import PeriodicTask
from app.observability import HTTP_LATENCY, HTTP_REQUESTS, request_id_var
from app.services import Services
from app.settings import Settings
from app.verification import pr_poller

log = logging.getLogger("opsgraph")
http_log = logging.getLogger("opsgraph.http")

_REQUEST_ID_MAX = 128


RunnerFactory = Callable[[Services], IncidentRunner]


def create_app(settings: Settings, *, runner_factory: RunnerFactory | None = None,
               resolver: WorkloadResolver | None = None) -> FastAPI:
    """Build the service; tests call this with their own settings (and runner)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _startup_step("database"), open_database(settings) as database, AsyncExitStack() as stack:
            services = _services(settings, database)
            app.state.database = database
            app.state.incidents = services.incidents
            app.state.approvals = services.approvals
            app.state.chat = ChatThreads(ChatStore(database.pool, services.queue.policy), services.incidents, settings,
                                         database.pool, lambda c: services.clusters.get(c) is not None, database.url)
            owners = resolver or _owner_resolver(settings, services.clusters)
            if isinstance(owners, ClusterOwnerResolver):
                stack.callback(owners.close)
            app.state.classifier = AlertClassifier(ClusterNaming(settings.cluster_label, settings.default_cluster),
                                                   owners)
            # Issue 13: the knowledge base, its starter runbooks (unchanged ones skipped by hash) and the sweep
            # that remembers ended incidents.
            app.state.knowledge = knowledge_base(settings, database.pool)
            if settings.kb_starter_pack:
                await _ingest_starter_pack(app.state.knowledge)
            memory_sweep = PeriodicTask("incident memory sweep", SWEEP_SECONDS, IncidentMemory(
                database.pool, app.state.knowledge).remember_ended, wait_first=True)
            await memory_sweep.start()
            stack.push_async_callback(memory_sweep.stop)
            app.state.pull_requests = PullRequestStore(database.pool, services.queue,
                                                       acquire_timeout=settings.request_db_timeout_seconds)
            poller = pr_poller(settings, app.state.pull_requests)
            if poller is not None:  # no GitHub webhook configured: merges are found by asking
                await poller.start()
                stack.push_async_callback(poller.stop)
            if runner_factory is not None and settings.workers > 0:
                workers = WorkerPool(services.queue, runner_factory(services), database_url=database.url,
                                     workers=settings.workers, verify_workers=settings.verify_workers,
                                     poll_seconds=settings.worker_poll_seconds)
                await workers.start()
                stack.push_async_callback(workers.stop)
            else:
                log.info("no incident runner wired or OPSGRAPH_WORKERS=0: work items wait in the queue")
            sweep = ApprovalSweep(services.approvals, settings.approval_sweep_seconds)
            await sweep.start()  # interval 0: off
            stack.push_async_callback(sweep.stop)
            if settings.k8s_events_enabled:
                from app.intake.k8s_events import WarningEventIntake

                intake = WarningEventIntake(settings, services.clusters, services.incidents, app.state.classifier)
                await intake.start()
                stack.push_async_callback(intake.stop)
            # HumanHelp and Slack (issue 11): questions to people, their reminders, cards and buttons.
            from app.help.store import HelpStore
            from app.help.sweep import HelpSweep
            from app.incidents.feedback import FeedbackStore
            from app.slack.service import start_slack

            from app.help.chat import ChatHelpStore

            app.state.help = HelpStore(database.pool, services.queue)
            app.state.chat_help = ChatHelpStore(database.pool, app.state.chat.store)  # a chat thread's questions
            app.state.feedback = FeedbackStore(database.pool)
            help_sweep = HelpSweep(app.state.help, interval_seconds=settings.help_sweep_seconds,
                                   remind_after_seconds=settings.help_reminder_seconds,
                                   timeout_seconds=settings.help_timeout_seconds,
                                   on_thread_timeout=app.state.chat_help.resume_timed_out)
            await help_sweep.start()
            stack.push_async_callback(help_sweep.stop)
            app.state.slack = await start_slack(settings, stack, pool=database.pool, approvals=services.approvals,
                                                help_store=app.state.help, feedback=app.state.feedback,
                                                incidents=services.incidents, chat_help=app.state.chat_help)
            log.info(
                "opsgraph ready",
                extra={"embedded_db": database.embedded, "schema_version": database.schema_version},
            )
            yield
            log.info("opsgraph stopping")

    app = FastAPI(title="opsgraph", version="0.1.0", lifespan=lifespan, default_response_class=SafeJSONResponse)
    app.state.settings = settings
    app.state.state_gauges = health.StateGauges()
    app.include_router(health.router)
    app.include_router(alerts.router)
    app.include_router(incidents.router)
    app.include_router(github_webhook.router)
    app.include_router(approvals.router)
    app.include_router(threads.router)
    app.include_router(knowledge.router)
    app.include_router(human_help.router)
    app.include_router(thread_help.router)
    app.include_router(feedback.router)
    app.include_router(slack.router)
    for error, handler in EXCEPTION_HANDLERS.items():
        app.add_exception_handler(error, handler)
    app.add_middleware(RequestContext)
    return app


def _services(settings: Settings, database: Database) -> Services:
    try:
        clusters = ClusterRegistry.from_settings(settings)
    except ClusterError as exc:
        log.error("opsgraph cannot start: %s", exc, extra={"step": "clusters"})
        raise StartupFailed(str(exc)) from None
    queue = IntakeQueue(database.pool, QueuePolicy(
        lease_seconds=settings.worker_lease_seconds, per_cluster=settings.worker_cluster_concurrency,
        max_attempts=settings.work_max_attempts, deadline_seconds=settings.work_deadline_seconds,
        retry_base_seconds=settings.work_retry_base_seconds,
    ))
    store = IncidentStore(database.pool, queue, join_window_seconds=settings.join_window_seconds,
                          cluster_error=clusters.unknown_reason,
                          acquire_timeout=settings.request_db_timeout_seconds)
    return Services(settings, database, store, queue, clusters, ApprovalStore(database.pool, queue))


async def _ingest_starter_pack(knowledge: KnowledgeBase) -> None:
    """The starter runbooks into the knowledge base; one that fails (an embeddings endpoint that is down)
    costs that runbook until the next start, never the start-up."""
    outcomes = await ingest_starter_pack(knowledge)
    stored = [o.line for o in outcomes if o.stored is not None and o.stored.outcome in ("added", "replaced")]
    if stored:
        log.info("starter runbooks ingested", extra={"runbooks": stored})
    for failed in (o for o in outcomes if o.stored is None):
        log.warning("starter runbook not ingested (tried again at the next start): %s", failed.line)


def _owner_resolver(settings: Settings, clusters: ClusterRegistry) -> WorkloadResolver:
    """Ask the alert's cluster who owns a pod, unless that is switched off (then the name pattern)."""
    if settings.owner_lookup_timeout_seconds <= 0:
        return PodNameResolver()
    return ClusterOwnerResolver(clusters, timeout_seconds=settings.owner_lookup_timeout_seconds,
                                cache_seconds=settings.owner_cache_seconds)


@asynccontextmanager
async def _startup_step(what: str) -> AsyncIterator[None]:
    """Turn the known start-up failures into one logged line and StartupFailed."""
    try:
        yield
    except (DatabaseUnavailable, MigrationError, EmbeddedPostgresError) as exc:
        log.error("opsgraph cannot start: %s", exc, extra={"step": what})
        raise StartupFailed(str(exc)) from None


class RequestContext:
    """Give every request an id (the caller's X-Request-ID if sane), log it and count it.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs each
    request in an extra task group with memory streams, which costs more than a webhook's whole
    database transaction under load (see `opsgraph bench intake`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = (incoming if 0 < len(incoming) <= _REQUEST_ID_MAX and incoming.isprintable()
                      else uuid.uuid4().hex)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            # Label by route template, not raw path, so metric cardinality stays bounded.
            route_label = getattr(route, "path", "unmatched")
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(method, route_label, str(status)).inc()
            HTTP_LATENCY.labels(method, route_label).observe(elapsed)
            if route_label not in ("/healthz", "/metrics") and http_log.isEnabledFor(logging.INFO):
                http_log.info("request", extra={"method": method, "path": scope.get("path", ""), "status": status,
                                                "ms": round(elapsed * 1000, 1)})
            request_id_var.reset(token)
