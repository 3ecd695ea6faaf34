"""The Slack outbox: post or update each incident's card, and its thread, from rows in Postgres.

Rows are written in the transaction that changed the incident (a trigger, migration 0009), so a
card update can never be lost between the database and Slack, and a Slack outage never blocks a
graph: the graph only writes rows. A row is claimed with a lease and marked sent only after Slack
took the call; a change that lands while its card is being sent bumps the row's version, and the
card goes again. A failed call waits (Slack's `Retry-After` for 429, growing backoff for 5xx and
network errors). A card row renders the incident as it is when sent, so a burst of transitions is
one update and a retry always shows the newest state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.periodic import PeriodicTask
from app.slack.cards import incident_card, truncated_diff
from app.slack.chat_help import ChatHelpCards
from app.slack.routing import ChannelRule, channel_for

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20  # a call refused this many times (e.g. channel_not_found) is given up, with its error kept
LEASE_SECONDS = 60  # a claimed row is not claimed again for this long (its sender may still be at it)
# A row stays pending until its call succeeded: a sender that dies mid-call leaves it to be claimed
# again when the lease runs out (at least once; a card update is idempotent).
CLAIM = """
UPDATE slack_outbox SET attempts = attempts + 1, not_before = now() + make_interval(secs => %(lease)s)
WHERE id = (SELECT id FROM slack_outbox WHERE sent_at IS NULL AND not_before <= now()
            ORDER BY not_before, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id, incident_id, help_request_id, kind, payload, attempts, version"""
# Sent, unless a change was queued onto the card meanwhile (version bumped): then it goes again now.
MARK_SENT = """
UPDATE slack_outbox SET sent_at = CASE WHEN version = %(version)s THEN now() END, not_before = now(), last_error = NULL
WHERE id = %(id)s"""
RETRY = """
UPDATE slack_outbox SET not_before = now() + make_interval(secs => %(delay)s), last_error = %(error)s WHERE id = %(id)s"""
GIVE_UP = "UPDATE slack_outbox SET sent_at = now(), last_error = %s WHERE id = %s"
SELECT_INCIDENT = """
SELECT id, cluster, namespace, resource_kind, resource_name, title, priority, status, status_reason, diagnosis,
       plan, pr, last_alert_at, updated_at FROM incidents WHERE id = %s"""
SELECT_DECISION = """
SELECT decision, approver, decided_at AS at FROM approvals WHERE incident_id = %s AND diff_hash = %s"""
SELECT_HELP = """
SELECT request_id, request, reply, replied_by, reminded_at, timed_out_at FROM help_requests WHERE incident_id = %s ORDER BY asked_at DESC, request_id DESC
LIMIT 1"""
# Alerts that joined the incident after it was parked (awaiting a person or reopened) are shown on the card.
COUNT_NEW_ALERTS = """
SELECT count(*) AS n FROM incident_alerts a JOIN incidents i ON i.id = a.incident_id
WHERE a.incident_id = %s AND i.status IN ('awaiting_human', 'reopened') AND a.first_seen > (
    SELECT coalesce(max(at), i.created_at) FROM incident_events e
    WHERE e.incident_id = i.id AND e.kind = 'status' AND e.data->>'to' = i.status)"""
SELECT_MESSAGE = "SELECT channel, ts FROM slack_messages WHERE incident_id = %s"
INSERT_MESSAGE = """
INSERT INTO slack_messages (incident_id, channel, ts) VALUES (%s, %s, %s)
ON CONFLICT (incident_id) DO UPDATE SET updated_at = now()"""
TOUCH_MESSAGE = "UPDATE slack_messages SET updated_at = now() WHERE incident_id = %s"
THREAD_POSTED = """
SELECT 1 FROM slack_outbox WHERE incident_id = %s AND kind = 'thread' AND payload->>'key' = %s"""
QUEUE_THREAD = "INSERT INTO slack_outbox (incident_id, kind, payload) VALUES (%s, 'thread', %s)"


@dataclass(frozen=True)
class Sent:
    id: int
    kind: str
    outcome: str  # "sent", "retry in N s: ...", "gave up: ..."


class SlackOutbox:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]], client: AsyncWebClient, *,
                 routes: list[ChannelRule], default_channel: str | None, interval_seconds: float) -> None:
        self.pool = pool
        self.client = client
        self.routes = routes
        self.default_channel = default_channel
        # A chat thread's question has its own card (`help_card` rows, migration 0012).
        self.chat_help = ChatHelpCards(pool, client, routes=routes, default_channel=default_channel)
        self._task = PeriodicTask("slack outbox", interval_seconds, self.drain)

    async def start(self) -> None:
        await self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def drain(self, limit: int = 100) -> list[Sent]:
        """Send every due row (up to `limit`); what happened to each."""
        done: list[Sent] = []
        for _ in range(limit):
            async with self.pool.connection() as conn:
                row = await (await conn.execute(CLAIM, {"lease": LEASE_SECONDS})).fetchone()
            if row is None:
                break
            done.append(await self._send(row))
        return done

    async def _send(self, row: dict[str, Any]) -> Sent:
        try:
            if row["kind"] == "card":
                await self._send_card(row["incident_id"])
            elif row["kind"] == "help_card":
                await self.chat_help.send(row["help_request_id"])
            else:
                await self._send_thread(row["incident_id"], row["payload"])
            async with self.pool.connection() as conn:
                await conn.execute(MARK_SENT, {"id": row["id"], "version": row["version"]})
            return Sent(row["id"], row["kind"], "sent")
        except SlackApiError as exc:
            status = exc.response.status_code
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
            delay = float(retry_after or 1) if status == 429 else min(2.0 ** row["attempts"], 300.0)
            error = f"Slack {status}: {exc.response.get('error') if isinstance(exc.response.data, dict) else exc}"
            permanent = status < 500 and status != 429
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            delay, error, permanent = min(2.0 ** row["attempts"], 300.0), f"{type(exc).__name__}: {exc}", False
        except _NotYet as exc:
            delay, error, permanent = 1.0, str(exc), False
        if permanent and row["attempts"] >= MAX_ATTEMPTS:
            async with self.pool.connection() as conn:
                await conn.execute(GIVE_UP, (f"gave up: {error}", row["id"]))
            log.error("%s: Slack %s given up after %s attempts: %s", _subject(row), row["kind"],
                      row["attempts"], error)
            return Sent(row["id"], row["kind"], f"gave up: {error}")
        async with self.pool.connection() as conn:
            await conn.execute(RETRY, {"id": row["id"], "delay": delay, "error": error})
        log.warning("%s: Slack %s failed (%s); retrying in %.1f s", _subject(row), row["kind"], error, delay)
        return Sent(row["id"], row["kind"], f"retry in {delay:g} s: {error}")

    async def _send_card(self, incident_id: int) -> None:
        async with self.pool.connection() as conn:
            incident = await (await conn.execute(SELECT_INCIDENT, (incident_id,))).fetchone()
            if incident is None:
                return
            plan = incident["plan"] or {}
            decision = await (await conn.execute(SELECT_DECISION, (incident_id, plan.get("diff_hash", "")))).fetchone()
            help_request = await (await conn.execute(SELECT_HELP, (incident_id,))).fetchone()
            new_alerts = (await (await conn.execute(COUNT_NEW_ALERTS, (incident_id,))).fetchone() or {"n": 0})["n"]
            message = await (await conn.execute(SELECT_MESSAGE, (incident_id,))).fetchone()
        if decision is not None:
            decision = {**decision, "at": decision["at"].isoformat(timespec="seconds")}
        text, blocks = incident_card(incident, decision=decision, help_request=help_request, new_alerts=int(new_alerts))
        if message is not None:
            await self.client.chat_update(channel=message["channel"], ts=message["ts"], text=text, blocks=blocks)
            async with self.pool.connection() as conn:
                await conn.execute(TOUCH_MESSAGE, (incident_id,))
        else:
            channel = channel_for(self.routes, self.default_channel, cluster=incident["cluster"],
                                  namespace=incident["namespace"], priority=incident["priority"])
            if channel is None:
                log.info("incident %s: no Slack channel matches; no card posted", incident_id)
                return
            posted = await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
            async with self.pool.connection() as conn:
                await conn.execute(INSERT_MESSAGE, (incident_id, posted["channel"], posted["ts"]))
        await self._queue_details(incident, help_request)

    async def _queue_details(self, incident: dict[str, Any], help_request: dict[str, Any] | None) -> None:
        """Thread replies for what the card only summarises: the full diff, the pull request, a person's
        question with its reminder, timeout and reply. Each is posted once (keyed)."""
        details: list[tuple[str, str]] = []
        if help_request is not None:
            rid, request = help_request["request_id"], help_request["request"]
            details.append((f"help:{rid}", f":sos: A person is needed: {request['reason']}\nAnswer with the card's "
                            f"Reply button, or POST /incidents/{incident['id']}/help (request `{rid}`)."))
            if help_request["reminded_at"] and not help_request["reply"]:
                details.append((f"remind:{rid}", f":alarm_clock: Reminder: still waiting for a person ({request['reason']})"))
            if help_request["timed_out_at"] and not help_request["reply"]:
                details.append((f"timeout:{rid}", ":hourglass: No reply in time: the incident stays with a person; "
                                                  "a reply still resumes it."))
            if help_request["reply"]:
                reply = help_request["reply"]
                who = reply["responder"]
                who = f"<@{who.removeprefix('slack:')}>" if who.startswith("slack:") else who
                details.append((f"reply:{rid}", f"{who} replied ({reply['action']}): {reply['text']}"))
        plan = incident["plan"] or {}
        if plan.get("diff") and truncated_diff(plan["diff"])[1]:
            details.append((f"diff:{plan['diff_hash']}", f"Full change `{plan['diff_hash'][:12]}`:\n```{plan['diff']}```"))
        if (incident["pr"] or {}).get("url"):
            details.append((f"pr:{incident['pr']['url']}", f"Pull request opened: {incident['pr']['url']}"))
        async with self.pool.connection() as conn, conn.transaction():
            for key, text in details:
                if await (await conn.execute(THREAD_POSTED, (incident["id"], key))).fetchone() is None:
                    await conn.execute(QUEUE_THREAD, (incident["id"], Jsonb({"key": key, "text": text})))

    async def _send_thread(self, incident_id: int, payload: dict[str, Any]) -> None:
        async with self.pool.connection() as conn:
            message = await (await conn.execute(SELECT_MESSAGE, (incident_id,))).fetchone()
        if message is None:
            raise _NotYet("the card is not posted yet")
        await self.client.chat_postMessage(channel=message["channel"], thread_ts=message["ts"],
                                           text=payload["text"][:39000])


def _subject(row: dict[str, Any]) -> str:
    return f"incident {row['incident_id']}" if row["incident_id"] is not None else f"question {row['help_request_id']}"


class _NotYet(Exception):
    """A thread reply whose card is not in Slack yet: tried again shortly."""
