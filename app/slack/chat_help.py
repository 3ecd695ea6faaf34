"""The Slack card of a chat thread's question to a person: one message per question, posted and updated from
the outbox (`help_card` rows, migration 0012), with the same Reply modal as an incident's question.

The card says it comes from a chat thread and carries the user's question, why the agent handed it over
and what it tried; its Reply button names the thread and the question, so a click answers exactly that.
Reminders, the timeout and the answer go to the card's Slack thread, each once.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from slack_sdk.web.async_client import AsyncWebClient

from app.chat.store import RUN_PRIORITY
from app.help.store import THREAD_STILL_ASKS
from app.slack.cards import TEXT_LIMIT, button_value
from app.slack.routing import ChannelRule, channel_for

SELECT_REQUEST = f"""
SELECT h.request_id, h.thread_id, h.request, h.asked_at, h.reminded_at, h.timed_out_at, h.reply, h.replied_by,
       h.replied_at, t.cluster, {THREAD_STILL_ASKS} AS still_asked
FROM help_requests h JOIN chat_threads t USING (thread_id) WHERE h.request_id = %s"""
SELECT_MESSAGE = "SELECT channel, ts, notes FROM slack_help_messages WHERE request_id = %s"
INSERT_MESSAGE = """
INSERT INTO slack_help_messages (request_id, channel, ts) VALUES (%s, %s, %s)
ON CONFLICT (request_id) DO UPDATE SET updated_at = now()"""
TOUCH_MESSAGE = "UPDATE slack_help_messages SET updated_at = now() WHERE request_id = %s"
ADD_NOTE = """
UPDATE slack_help_messages SET notes = array_append(notes, %(note)s), updated_at = now()
WHERE request_id = %(request_id)s AND NOT (%(note)s = ANY (notes))"""


def _who(actor: str) -> str:
    return f"<@{actor.removeprefix('slack:')}>" if actor.startswith("slack:") else actor


def chat_help_card(row: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for the chat question as it is now."""
    request, thread_id = row["request"], row["thread_id"]
    text = f"A chat user needs a person (chat thread {thread_id})"
    if row["reply"]:
        state = f":white_check_mark: answered by {_who(row['replied_by'])} at {row['replied_at']:%Y-%m-%d %H:%M} UTC"
    elif not row["still_asked"]:
        state = ":no_entry_sign: closed: the chat user moved on with a new turn"
    elif row["timed_out_at"]:
        state = ":hourglass: no reply in time: the chat user was told; a reply still reaches them"
    elif row["reminded_at"]:
        state = ":alarm_clock: still waiting for a person"
    else:
        state = ":sos: waiting for a person"
    tried = "\n".join(f"• {line}" for line in request.get("tried") or []) or "• nothing"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f":sos: {text}"[:150], "emoji": True}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text":
            f"{state} · from chat thread `{thread_id}` · cluster `{row['cluster']}` · question `{row['request_id']}`"
            [:TEXT_LIMIT]}]},
        {"type": "section", "text": {"type": "mrkdwn", "text":
            f"*Question*\n```{request.get('question') or '(no text)'}```"[:TEXT_LIMIT]}},
        {"type": "section", "text": {"type": "mrkdwn", "text":
            f"*Why a person*: {request.get('reason')}\n*What the agent tried*\n{tried}"[:TEXT_LIMIT]}},
    ]
    if row["reply"]:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text":
            f"*Answer* from {_who(row['replied_by'])}:\n{row['reply']['text']}"[:TEXT_LIMIT]}})
    elif row["still_asked"]:
        blocks.append({"type": "actions", "block_id": f"chat-help-{row['request_id']}"[:255], "elements": [
            {"type": "button", "action_id": "help_reply", "text": {"type": "plain_text", "text": "Reply"},
             "style": "primary", "value": button_value(t=thread_id, r=row["request_id"])}]})
    return text, blocks


def follow_ups(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, text) of the card's thread replies due now; each key is posted once."""
    request, out = row["request"], []
    if not row["reply"] and not row["still_asked"]:
        return out  # closed: nobody is reminded of a question the user moved on from
    if row["reminded_at"] and not row["reply"]:
        out.append(("remind", f":alarm_clock: Reminder: a chat user still waits for a person ({request['reason']})"))
    if row["timed_out_at"] and not row["reply"]:
        out.append(("timeout", ":hourglass: No reply in time: the chat user was told no one answered yet. The "
                               "question stays open; a reply still reaches them."))
    if row["reply"]:
        out.append(("reply", f"{_who(row['replied_by'])} answered: {row['reply']['text']}"))
    return out


class ChatHelpCards:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]], client: AsyncWebClient, *,
                 routes: list[ChannelRule], default_channel: str | None) -> None:
        self.pool = pool
        self.client = client
        self.routes = routes
        self.default_channel = default_channel

    async def send(self, request_id: str) -> str:
        """Post or update the question's card, then its due thread replies; what was done, in a few words."""
        async with self.pool.connection() as conn:
            row = await (await conn.execute(SELECT_REQUEST, (request_id,))).fetchone()
            message = await (await conn.execute(SELECT_MESSAGE, (request_id,))).fetchone()
        if row is None:
            return "gone"
        text, blocks = chat_help_card(row)
        if message is not None:
            await self.client.chat_update(channel=message["channel"], ts=message["ts"], text=text, blocks=blocks)
            async with self.pool.connection() as conn:
                await conn.execute(TOUCH_MESSAGE, (request_id,))
        else:
            channel = channel_for(self.routes, self.default_channel, cluster=row["cluster"],
                                  namespace=row["request"].get("namespace"), priority=RUN_PRIORITY)
            if channel is None:
                return "no channel matches"
            posted = await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
            message = {"channel": posted["channel"], "ts": posted["ts"], "notes": []}
            async with self.pool.connection() as conn:
                await conn.execute(INSERT_MESSAGE, (request_id, message["channel"], message["ts"]))
        for key, note in follow_ups(row):
            if key in message["notes"]:
                continue
            await self.client.chat_postMessage(channel=message["channel"], thread_ts=message["ts"], text=note[:39000])
            async with self.pool.connection() as conn:
                await conn.execute(ADD_NOTE, {"note": key, "request_id": request_id})
        return "sent"
