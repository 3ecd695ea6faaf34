"""The Slack side of decisions: Bolt listeners for the card's buttons, its modals and `/opsgraph`.

The same listeners serve HTTP mode (`POST /slack/interactions`, `/slack/commands`, mounted in FastAPI)
and Socket Mode. Bolt checks signatures and timestamps and acknowledges within Slack's 3 seconds;
every decision then goes through the stores the HTTP API uses (ApprovalStore, HelpStore), so a
double, stale, replayed or late click is refused there and answered with an ephemeral message.
The approver is the Slack user Bolt verified (`slack:U…`), never a name from the payload.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from agents.human_help import HelpReply
from agents.remediation import ApprovalDecision, FieldEdit, is_revert
from app.approvals.store import ApprovalStore, DecisionRefused
from app.help.chat import ChatHelpStore
from app.help.store import HelpStore
from app.incidents.errors import IncidentNotFound
from app.incidents.feedback import FeedbackStore
from app.incidents.store import IncidentStore
from app.slack.cards import edit_modal, reply_modal

log = logging.getLogger(__name__)

COMMAND = "/opsgraph"
GROUP_CACHE_SECONDS = 60.0  # how long a user group's members are trusted before asking Slack again


class Refused(Exception):
    """A click that answers nothing; the message is shown to the person who clicked."""


def _value(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "")
        int(value["i"])
    except (ValueError, TypeError, KeyError):
        raise Refused("this button carries no incident: it was not made by opsgraph") from None
    return dict(value)


def _help_value(raw: str | None) -> dict[str, Any]:
    """A Reply button's or modal's value: an incident's question (`i`) or a chat thread's (`t`)."""
    try:
        value = json.loads(raw or "")
        if isinstance(value.get("t"), str) and value["t"]:
            return dict(value)
    except (ValueError, TypeError, AttributeError):
        raise Refused("this button carries no incident: it was not made by opsgraph") from None
    return _value(raw)


def _edit_value(text: str) -> Any:
    """A modal's text as the value it names: numbers and JSON stay typed, anything else is a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def build_slack_app(*, signing_secret: str | None, client: AsyncWebClient, approvals: ApprovalStore,
                    help_store: HelpStore, feedback: FeedbackStore, incidents: IncidentStore,
                    approvers: frozenset[str], chat_help: ChatHelpStore | None = None) -> AsyncApp:
    app = AsyncApp(signing_secret=signing_secret, client=client,
                   request_verification_enabled=signing_secret is not None)

    groups = frozenset(a for a in approvers if a.startswith("S"))  # user groups (subteams) are S…, users U…/W…
    members_of: dict[str, tuple[float, frozenset[str]]] = {}

    async def group_members(group: str) -> frozenset[str]:
        cached = members_of.get(group)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        answer = await client.usergroups_users_list(usergroup=group)
        members = frozenset(answer.get("users") or [])
        members_of[group] = (time.monotonic() + GROUP_CACHE_SECONDS, members)
        return members

    async def check_user(user_id: str) -> None:
        if not approvers or user_id in approvers:
            return
        unreadable = []
        for group in sorted(groups):
            try:
                if user_id in await group_members(group):
                    return
            except SlackApiError as exc:  # one group gone or unreadable does not lock out the others
                log.warning("Slack user group %s could not be read: %s", group, exc.response.get("error"))
                unreadable.append(group)
        note = f" (user group(s) {', '.join(unreadable)} could not be read)" if unreadable else ""
        raise Refused(f"<@{user_id}> is not allowed to decide here (OPSGRAPH_SLACK_APPROVERS){note}")

    async def tell(channel: str | None, user: str, text: str) -> None:
        if channel:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            log.info("Slack user %s refused without a channel to answer in: %s", user, text)

    async def decide(kind: str, body: dict[str, Any], value: dict[str, Any],
                     edits: list[FieldEdit] | None = None) -> str:
        user = body["user"]["id"]
        await check_user(user)
        decision = ApprovalDecision(decision=kind, approver=f"slack:{user}", diff_hash=str(value.get("h", "")),  # type: ignore[arg-type]
                                    edits=edits or [])
        await approvals.decide(int(value["i"]), decision)
        return f"{kind} recorded for change `{decision.diff_hash[:12]}` of incident {value['i']}"

    async def run_click(body: dict[str, Any], channel: str | None, work: Callable[[], Awaitable[str]]) -> None:
        user = body["user"]["id"]
        try:
            message = await work()
        except (Refused, DecisionRefused) as exc:
            message = str(exc)
        except IncidentNotFound as exc:
            message = str(exc)
        except ValidationError:
            message = "this button's change hash is not valid: nothing was decided"
        if message:
            await tell(channel, user, message)

    def channel_of(body: dict[str, Any]) -> str | None:
        return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")

    @app.action(re.compile(r"^(approve|reject)$"))
    async def on_decision(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await run_click(body, channel_of(body), lambda: decide(action["action_id"], body, _value(action.get("value"))))

    @app.action("edit")
    async def on_edit(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()

        async def open_modal() -> str:
            await check_user(body["user"]["id"])
            value = _value(action.get("value"))
            pending = await approvals.pending(int(value["i"]))
            if pending.get("diff_hash") != value.get("h"):
                raise Refused(f"change {str(value.get('h'))[:12]} was superseded: the pending change is "
                              f"{str(pending.get('diff_hash'))[:12]}")
            if is_revert(pending.get("steps") or []):
                raise Refused("a revert is approved or rejected as git made it; it cannot be edited")
            await client.views_open(trigger_id=body["trigger_id"], view=edit_modal(int(value["i"]), pending,
                                                                                 channel_of(body)))
            return ""

        await run_click(body, channel_of(body), open_modal)

    @app.view("edit_plan")
    async def on_edit_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            meta = _value(view.get("private_metadata"))
            values = view["state"]["values"]
            edits = [FieldEdit(object_field=field, new_value=_edit_value(values[f"step-{n}"]["value"]["value"] or ""))
                     for n, field in enumerate(meta.get("f", [])) if f"step-{n}" in values]
            message = await decide("edit", body, meta, edits)
        except (Refused, DecisionRefused, IncidentNotFound) as exc:
            await ack(response_action="errors", errors={"step-0": str(exc)[:150]})
            return
        except (KeyError, TypeError, ValidationError):
            await ack(response_action="errors", errors={"step-0": "this form is not one opsgraph opened"})
            return
        await ack()
        await tell(meta.get("c"), body["user"]["id"], message)

    @app.action("help_reply")
    async def on_reply_clicked(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()

        async def open_modal() -> str:
            await check_user(body["user"]["id"])
            value = _help_value(action.get("value"))
            thread_id = value.get("t")
            if thread_id is not None and chat_help is None:
                raise Refused("chat questions are not served here")
            latest = await (chat_help.latest(thread_id) if thread_id is not None and chat_help is not None
                            else help_store.latest(int(value["i"])))
            if latest is None or latest["request_id"] != value.get("r"):
                raise Refused("this question was superseded by a newer one")
            if latest["reply"] is not None:
                raise Refused(f"already answered by {latest['replied_by']} at {latest['replied_at'].isoformat()}")
            if latest.get("still_asked") is False:
                raise Refused("the chat user moved on with a new turn: this question is closed")
            view = reply_modal(None if thread_id is not None else int(value["i"]), latest["request"],
                               channel_of(body), thread_id=thread_id)
            await client.views_open(trigger_id=body["trigger_id"], view=view)
            return ""

        await run_click(body, channel_of(body), open_modal)

    @app.view("help_reply")
    async def on_reply_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        try:
            meta = _help_value(view.get("private_metadata"))
            values = view["state"]["values"]
            await check_user(user)
            reply = HelpReply(request_id=str(meta.get("r")), responder=f"slack:{user}",
                              action=(values["action"]["value"].get("selected_option") or {}).get("value"),
                              text=values["text"]["value"].get("value") or "")
            if meta.get("t") is not None:
                if chat_help is None:
                    raise Refused("chat questions are not served here")
                await chat_help.reply(meta["t"], reply, metadata={"via": "slack"})
            else:
                await help_store.reply(int(meta["i"]), reply)
        except (Refused, DecisionRefused, IncidentNotFound) as exc:
            await ack(response_action="errors", errors={"text": str(exc)[:150]})
            return
        except (ValidationError, KeyError, TypeError, AttributeError):
            await ack(response_action="errors", errors={"text": "choose a next step and write a hint or resolution"})
            return
        await ack()
        subject = f"chat thread {meta['t']}" if meta.get("t") is not None else f"incident {meta['i']}"
        await tell(meta.get("c"), user, f"reply recorded for {subject}: {reply.action}")

    @app.action(re.compile(r"^feedback_(up|down)$"))
    async def on_feedback(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()

        async def record() -> str:
            value = _value(action.get("value"))
            vote = "up" if action["action_id"] == "feedback_up" else "down"
            await feedback.record(int(value["i"]), f"slack:{body['user']['id']}", vote)
            return f"thanks: your {':+1:' if vote == 'up' else ':-1:'} on incident {value['i']} is recorded"

        await run_click(body, channel_of(body), record)

    @app.action(re.compile(".*"))
    async def on_unknown(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await tell(channel_of(body), body["user"]["id"],
                   f"unknown action {str(action.get('action_id'))[:50]!r}: nothing was done")

    @app.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        text = (command.get("text") or "").strip()
        if not text.isdigit():
            await ack(f"usage: {COMMAND} INCIDENT_ID (shows its status; decide on its card)")
            return
        try:
            incident = await incidents.get(int(text))
        except IncidentNotFound:
            await ack(f"incident {text} does not exist")
            return
        await ack(f"incident {incident['id']} [P{incident['priority']}] {incident['status']}: {incident['title']}"
                  + (f" ({incident['status_reason']})" if incident.get("status_reason") else ""))

    return app
