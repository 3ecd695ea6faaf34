"""The Slack outbox against the stand-in and a real database: a change that lands while its card is being
sent is sent too, and a card that cannot go yet stays queued."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr

from app.slack.outbox import SlackOutbox
from app.slack.routing import parse_routes
from app.slack.service import slack_client
from app.settings import Settings
from tests.support.slack_standin import BOT_TOKEN, SlackStandIn
from tests.support.verification import seed_incident


def outbox(db_pool: AsyncConnectionPool[Any], settings: Settings, slack: SlackStandIn) -> SlackOutbox:
    configured = settings.model_copy(update={"slack_bot_token": SecretStr(BOT_TOKEN), "slack_api_url": slack.url})
    return SlackOutbox(db_pool, slack_client(configured), routes=parse_routes(""), default_channel="C0OPS",
                       interval_seconds=1.0)


def pending(database_url: str) -> list[tuple[str, int]]:
    with psycopg.connect(database_url) as conn:
        return [(kind, version) for kind, version in conn.execute(
            "SELECT kind, version FROM slack_outbox WHERE sent_at IS NULL ORDER BY id").fetchall()]


async def test_a_change_during_the_send_goes_out_too(db_pool: AsyncConnectionPool[Any], database_url: str,
                                                   settings: Settings, slack: SlackStandIn) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE slack_switch SET enabled = true")
    incident_id = seed_incident(database_url, status="awaiting_human")
    changed: list[str] = []

    def change_while_posting(method: str, body: dict[str, Any]) -> None:
        if method == "chat.postMessage" and not changed:  # the person's reply lands mid-call
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute("UPDATE incidents SET status_reason = 'reminded: still waiting' WHERE id = %s",
                             (incident_id,))
            changed.append(method)

    slack.on_call = change_while_posting
    sender = outbox(db_pool, settings, slack)
    sent = await sender.drain()
    # The card (posted from the row as it was), the same card again (the change bumped its version,
    # so it was not marked sent), and the PR link in the thread.
    assert sorted((s.kind, s.outcome) for s in sent) == [("card", "sent"), ("card", "sent"), ("thread", "sent")]
    assert changed and pending(database_url) == []
    [posted] = [c for c in slack.answered("chat.postMessage") if not c.body.get("thread_ts")]
    [update] = slack.answered("chat.update")
    assert "reminded: still waiting" not in str(posted.body["blocks"])
    assert "reminded: still waiting" in str(update.body["blocks"])


async def test_a_failed_call_waits_its_turn_and_keeps_its_row(db_pool: AsyncConnectionPool[Any], database_url: str,
                                                            settings: Settings, slack: SlackStandIn) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE slack_switch SET enabled = true")
    seed_incident(database_url, status="awaiting_human")
    slack.fail_next("chat.postMessage", 429, retry_after="30")
    sender = outbox(db_pool, settings, slack)
    [outcome] = await sender.drain()
    assert outcome.outcome.startswith("retry in 30 s: Slack 429")
    assert await sender.drain() == []  # not due for 30 s: nothing is sent, nothing is lost
    assert [kind for kind, _ in pending(database_url)] == ["card"] and slack.answered("chat.postMessage") == []
