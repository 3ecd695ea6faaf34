"""Start the Slack side in the lifespan: the outbox drainer, the Bolt app, and Socket Mode when asked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncServerErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from app.approvals.store import ApprovalStore
from app.errors import StartupFailed
from app.help.chat import ChatHelpStore
from app.help.store import HelpStore
from app.incidents.feedback import FeedbackStore
from app.incidents.store import IncidentStore
from app.settings import Settings
from app.slack.bolt import build_slack_app
from app.slack.outbox import SlackOutbox
from app.slack.cards import incident_card
from app.slack.routing import RouteError, channel_for, parse_routes

log = logging.getLogger("opsgraph")


@dataclass(frozen=True)
class SlackSide:
    app: AsyncApp
    handler: AsyncSlackRequestHandler
    outbox: SlackOutbox


def slack_client(settings: Settings) -> AsyncWebClient:
    assert settings.slack_bot_token is not None
    # One quick in-process retry of a 5xx. A 429 is not waited for in here (the SDK would sleep out its
    # Retry-After, holding up every card behind it): the outbox schedules the row for then instead.
    return AsyncWebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url,
                          timeout=10, retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=1)])


def slack_problem(settings: Settings) -> str | None:
    """Why a Slack configuration that was started cannot work, or None."""
    if settings.slack_bot_token is None or settings.slack_channel is None:
        return "SLACK_BOT_TOKEN and SLACK_CHANNEL are both needed"
    if settings.slack_mode == "socket" and settings.slack_app_token is None:
        return "OPSGRAPH_SLACK_MODE=socket needs SLACK_APP_TOKEN (xapp-...)"
    if settings.slack_mode == "http" and settings.slack_signing_secret is None:
        return "OPSGRAPH_SLACK_MODE=http needs SLACK_SIGNING_SECRET: unsigned clicks are never accepted"
    return None


def card_destination(settings: Settings, incident: dict[str, Any]) -> str:
    """Where this incident's Slack card goes (or would go), in one line for a person. `incident` as the
    API shows it (priority `P1`) or as stored (priority 1)."""
    incident = {**incident, "priority": int(str(incident["priority"]).removeprefix("P"))}
    try:
        routes = parse_routes(settings.slack_routes)
    except RouteError as exc:
        return f"nowhere: {exc}"
    channel = channel_for(routes, settings.slack_channel, cluster=incident["cluster"],
                          namespace=incident.get("namespace"), priority=incident["priority"])
    text, blocks = incident_card(incident)
    buttons = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    card = f"card \"{text}\" with {' / '.join(buttons)}"
    if not settings.slack_configured:
        where = f"channel {channel}" if channel else "SLACK_CHANNEL (or a matching OPSGRAPH_SLACK_ROUTES rule)"
        return f"Slack is not configured (SLACK_BOT_TOKEN, SLACK_CHANNEL): the {card} would go to {where}"
    return f"the {card} goes to channel {channel}" if channel else "no channel matches: no card is posted"


async def _switch_cards(pool: Any, *, on: bool) -> None:
    """Tell the database whether incident changes should queue card refreshes (migration 0009)."""
    async with pool.connection() as conn:
        await conn.execute("UPDATE slack_switch SET enabled = %s WHERE enabled IS DISTINCT FROM %s", (on, on))


async def _close_socket(socket: Any, connecting: asyncio.Task[None]) -> None:
    connecting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await connecting
    await socket.close_async()


async def start_slack(settings: Settings, stack: AsyncExitStack, *, pool: Any, approvals: ApprovalStore,
                      help_store: HelpStore, feedback: FeedbackStore, incidents: IncidentStore,
                      chat_help: ChatHelpStore | None = None) -> SlackSide | None:
    """The running Slack side, or None (with a log line saying why) when Slack is not configured."""
    if not (settings.slack_bot_token or settings.slack_signing_secret or settings.slack_channel):
        log.info("Slack is not configured: incident cards are not posted; use the HTTP API")
        await _switch_cards(pool, on=False)
        return None
    problem = slack_problem(settings)
    try:
        routes = parse_routes(settings.slack_routes)
    except RouteError as exc:
        problem = str(exc)
    if problem is not None:
        log.error("opsgraph cannot start: %s", problem, extra={"step": "slack"})
        raise StartupFailed(problem)
    await _switch_cards(pool, on=True)
    client = slack_client(settings)
    outbox = SlackOutbox(pool, client, routes=routes, default_channel=settings.slack_channel,
                         interval_seconds=settings.slack_outbox_seconds)
    await outbox.start()
    stack.push_async_callback(outbox.stop)
    app = build_slack_app(
        client=client, approvals=approvals,
        help_store=help_store, feedback=feedback, incidents=incidents, approvers=settings.slack_approver_list,
        chat_help=chat_help,
        signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None)
    if settings.slack_mode == "socket":
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        assert settings.slack_app_token is not None
        socket = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value(), web_client=client)
        # Connecting retries until Slack answers; the service starts meanwhile (cards wait in the outbox).
        connecting = asyncio.create_task(socket.connect_async(), name="opsgraph-slack-socket-mode")
        stack.push_async_callback(_close_socket, socket, connecting)
    log.info("Slack is on (%s mode): cards go to %s", settings.slack_mode, settings.slack_channel)
    return SlackSide(app, AsyncSlackRequestHandler(app), outbox)
