"""A chat request for a person, in Slack, with the real slack_bolt and slack_sdk against the local Slack stand-in and
the official langgraph_sdk client against the service: chat turn → help request → a card that says it comes from a
chat thread → signed Reply → the thread resumes and the answer streams back to the chat user."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.app.slack.test_slack_cards_and_buttons import click, until
from tests.support.approval_flow import TOKEN, Flow
from tests.support.chat import chat_service, turn
from tests.support.slack_standin import SlackStandIn, buttons, post_signed, view_submission

ASK = "I need a person: is the payments freeze still on this week?"
ANSWER = "Yes, until Friday 18:00; only P0 fixes go out."


def chat_cards(slack: SlackStandIn) -> list[dict[str, Any]]:
    return [c for c in slack.cards() if "chat thread" in c.get("text", "")]


def reply_values(text: str, action: str = "answer") -> dict[str, Any]:
    return {"action": {"value": {"type": "static_select", "selected_option": {"value": action}}},
            "text": {"value": {"type": "plain_text_input", "value": text}}}


async def submit(client: httpx.AsyncClient, user: str, view: dict[str, Any], values: dict[str, Any],
                 **signing: Any) -> httpx.Response:
    return await post_signed(client, "/slack/interactions",
                             {"payload": json.dumps(view_submission(user, view, values))}, **signing)


async def test_a_chat_request_asks_in_slack_and_a_signed_reply_streams_back(slack_flow: Callable[..., Flow],
                                                                           slack: SlackStandIn) -> None:
    f = slack_flow("oom_memory_hog", help_reminder_seconds=0.3, help_sweep_seconds=0.1)
    async with chat_service(f.settings) as (url, sdk), httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client:
        thread = await sdk.threads.create()
        tid = thread["thread_id"]
        waiting = await sdk.runs.wait(tid, "supervisor", input=turn(ASK))
        request = waiting["__interrupt__"][0]["value"]
        card = await until(lambda: (c := chat_cards(slack)) and "help_reply" in buttons(c[-1]) and c[-1],
                           "the chat question's card")
        await until(lambda: any(t.startswith(":alarm_clock: Reminder: a chat user") for t in slack.thread_replies()),
                    "the reminder in the card's thread")
        assert (await click(client, "U0ALICE", "help_reply", buttons(card)["help_reply"])).status_code == 200
        [opened] = await until(lambda: slack.answered("views.open"), "the Reply modal")
        view = opened.body["view"]
        values = reply_values(ANSWER)
        # Refused, and nothing resumed: a forged signature, a user who may not answer, a malformed answer.
        forged = await submit(client, "U0ALICE", view, values, secret="not-the-signing-secret")
        stranger = await submit(client, "U0MALLORY", view, values)
        empty = await submit(client, "U0ALICE", view, reply_values(""))
        oversized = await submit(client, "U0ALICE", view, reply_values("x" * 5000))
        wrong_action = await submit(client, "U0ALICE", view, reply_values(ANSWER, "resolve"))
        assert (await sdk.threads.get(tid))["status"] == "interrupted"
        assert len(await sdk.runs.list(tid)) == 1
        submitted = await submit(client, "U0ALICE", view, values)
        assert submitted.status_code == 200 and submitted.content in (b"", b"{}"), submitted.text
        replayed = await submit(client, "U0BOB", view, values)
        [resumed] = [r for r in await sdk.runs.list(tid) if r["metadata"].get("responder") == "slack:U0ALICE"]
        streamed = [p async for p in sdk.runs.join_stream(tid, resumed["run_id"], stream_mode=["values"])]
        final_card = await until(lambda: (c := chat_cards(slack)[-1]) and "help_reply" not in buttons(c) and c,
                                 "the answered card")
        await until(lambda: any(t.startswith("<@U0ALICE> answered") for t in slack.thread_replies()),
                    "the answer in the card's thread")
        late_click = await click(client, "U0BOB", "help_reply", buttons(card)["help_reply"])
        await until(lambda: slack.ephemerals("U0BOB"), "the answer to a click on an answered question")
        history = await sdk.threads.get_history(tid, limit=50)
    card_text = json.dumps(card["blocks"])
    assert "from chat thread" in card_text and tid in card_text and ASK in card_text
    assert "the user asked for a person" in card_text and "What the agent tried" in card_text
    assert json.loads(buttons(card)["help_reply"]) == {"r": request["request_id"], "t": tid}
    options = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    assert view["callback_id"] == "help_reply" and options == ["answer"]
    assert forged.status_code == 401
    assert "not allowed" in stranger.json()["errors"]["text"]
    assert empty.json()["response_action"] == "errors" and oversized.json()["response_action"] == "errors"
    assert "not possible here" in wrong_action.json()["errors"]["text"]
    assert "already answered by slack:U0ALICE" in replayed.json()["errors"]["text"]
    final = [p.data for p in streamed if p.event == "values"][-1]
    assert final["messages"][-1]["content"] == f"U0ALICE answered: {ANSWER}" and "__interrupt__" not in final
    assert history[0]["values"]["messages"][-1]["content"] == f"U0ALICE answered: {ANSWER}"
    assert "answered by <@U0ALICE>" in json.dumps(final_card["blocks"]) and ANSWER in json.dumps(final_card["blocks"])
    assert late_click.status_code == 200 and "already answered by slack:U0ALICE" in slack.ephemerals("U0BOB")[0]
    thread = slack.thread_replies()
    assert sum(t.startswith(":alarm_clock:") for t in thread) == 1 and f"<@U0ALICE> answered: {ANSWER}" in thread
    assert len(chat_cards(slack)) >= 2 and all(c.get("text") == card["text"] for c in chat_cards(slack))


async def test_a_new_turn_closes_the_question_and_its_card(slack_flow: Callable[..., Flow], slack: SlackStandIn) -> None:
    f = slack_flow("oom_memory_hog")
    async with chat_service(f.settings) as (url, sdk), httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client:
        thread = await sdk.threads.create()
        await sdk.runs.wait(thread["thread_id"], "supervisor", input=turn(ASK))
        card = await until(lambda: (c := chat_cards(slack)) and "help_reply" in buttons(c[-1]) and c[-1],
                           "the chat question's card")
        answer = await sdk.runs.wait(thread["thread_id"], "supervisor", input=turn("what runs in default?"))
        closed = await until(lambda: (c := chat_cards(slack)[-1]) and "moved on" in json.dumps(c["blocks"]) and c,
                             "the closed card")
        assert (await click(client, "U0ALICE", "help_reply", buttons(card)["help_reply"])).status_code == 200
        await until(lambda: slack.ephemerals("U0ALICE"), "the answer to a click on a closed question")
    assert answer["answer"]["form"] == "what_runs" and "__interrupt__" not in answer
    assert "help_reply" not in buttons(closed) and slack.answered("views.open") == []
    assert "moved on" in slack.ephemerals("U0ALICE")[0]
