"""Slack end to end with the real slack_bolt and slack_sdk: the service posts and updates one card per incident
on a local Slack Web API stand-in, and signed clicks on its buttons decide through the approval path."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import psycopg
from pydantic import SecretStr

from app.eval.payload import webhook_payload
from tests.support.approval_flow import Flow, after_decision, settled
from tests.support.slack_standin import (
    APP_TOKEN,
    SlackStandIn,
    block_action,
    buttons,
    post_signed,
    slack_signature,
    socket_mode_standin,
    view_submission,
)

FIELD = "spec.template.spec.containers[name=memory-hog].resources.limits.memory"


async def until(condition: Callable[[], Any], what: str, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        await asyncio.sleep(0.05)  # polling a condition with a deadline
    raise AssertionError(f"timed out waiting for {what}")


def latest_card(slack: SlackStandIn) -> dict[str, Any] | None:
    cards = slack.cards()
    return cards[-1] if cards else None


def card_text(card: dict[str, Any]) -> str:
    return json.dumps(card["blocks"])


async def click(client: httpx.AsyncClient, user: str, action_id: str, value: str) -> httpx.Response:
    return await post_signed(client, "/slack/interactions",
                             {"payload": json.dumps(block_action(user, action_id, value))})


async def after_help(client: httpx.AsyncClient, incident_id: int) -> dict[str, Any]:
    return await settled(client, incident_id, lambda i: i["status"] != "awaiting_human")


async def awaiting_card(slack: SlackStandIn) -> dict[str, Any]:
    return dict(await until(lambda: (card := latest_card(slack)) and "approve" in buttons(card) and card,
                            "a card with Approve"))


async def test_alert_card_approve_pull_request_and_card_updated(slack_flow: Callable[..., Flow],
                                                                slack: SlackStandIn) -> None:
    run = slack_flow()
    async with run.service() as client:
        incident = await run.alert(client)
        card = await awaiting_card(slack)
        assert card["channel"] == "C0OPS" and "memory-hog" in card_text(card) and "oom_killed" in card_text(card)
        value = json.loads(buttons(card)["approve"])
        assert value == {"i": incident["id"], "h": incident["plan"]["diff_hash"]}
        # The click exactly as Slack signed it, kept to be replayed byte for byte later.
        body = urlencode({"payload": json.dumps(block_action("U0ALICE", "approve", buttons(card)["approve"]))})
        stamp = str(int(time.time()))
        signed = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
                  "X-Slack-Signature": slack_signature(body, stamp)}
        answer = await client.post("/slack/interactions", content=body.encode(), headers=signed)
        assert answer.status_code == 200
        done = await after_decision(client, incident["id"])
        assert done["status"] == "remediating"
        replayed = await client.post("/slack/interactions", content=body.encode(), headers=signed)
        assert replayed.status_code == 200
        replay_answer = await until(lambda: len(slack.ephemerals("U0ALICE")) >= 2 and slack.ephemerals("U0ALICE"),
                                    "the answer to the replayed click")
        pr_url = done["pr"]["url"]
        updated = await until(lambda: (c := latest_card(slack)) and pr_url in card_text(c) and c, "the PR on the card")
        second = await click(client, "U0BOB", "approve", buttons(card)["approve"])
        assert second.status_code == 200
        refusal = await until(lambda: slack.ephemerals("U0BOB"), "an ephemeral answer to the second click")
        await until(lambda: any(pr_url in text for text in slack.thread_replies()), "the PR in the thread")
    assert "already decided: approve by slack:U0ALICE at" in refusal[0]
    assert replay_answer[0].startswith("approve recorded for change")
    assert "already decided: approve by slack:U0ALICE at" in replay_answer[1]
    assert "<@U0ALICE>" in card_text(updated) and "approve" not in buttons(updated)
    posted = slack.answered("chat.postMessage")
    assert len([c for c in posted if not c.body.get("thread_ts")]) == 1  # one card, then chat.update
    # Every update and thread reply is on that one message.
    updated_at = {(c.body["channel"], c.body["ts"]) for c in slack.answered("chat.update")}
    threads = {(c.body["channel"], c.body["thread_ts"]) for c in posted if c.body.get("thread_ts")}
    assert len(updated_at) == 1 and threads == updated_at
    assert len(run.github.posted_pulls()) == 1
    approval = [e for e in done["timeline"] if e["kind"] == "approval"]
    assert approval[0]["actor"] == "slack:U0ALICE"


async def test_edit_opens_a_modal_and_the_pull_request_carries_the_edited_value(slack_flow: Callable[..., Flow],
                                                                                slack: SlackStandIn) -> None:
    run = slack_flow()
    async with run.service() as client:
        incident = await run.alert(client)
        card = await awaiting_card(slack)
        assert (await click(client, "U0ALICE", "edit", buttons(card)["edit"])).status_code == 200
        [opened] = await until(lambda: slack.answered("views.open"), "views.open")
        view = opened.body["view"]
        assert view["callback_id"] == "edit_plan" and view["blocks"][0]["label"]["text"] == FIELD
        typed = {"step-0": {"value": {"type": "plain_text_input", "value": "384Mi"}}}
        forged = await post_signed(client, "/slack/interactions", {"payload": json.dumps(view_submission(
            "U0ALICE", {**view, "private_metadata": "{}"}, typed))})
        assert "not made by opsgraph" in forged.json()["errors"]["step-0"]
        mangled = await post_signed(client, "/slack/interactions", {"payload": json.dumps(view_submission(
            "U0ALICE", view, {"step-0": {"other": {}}}))})
        assert "not one opsgraph opened" in mangled.json()["errors"]["step-0"]
        submitted = await post_signed(client, "/slack/interactions", {"payload": json.dumps(view_submission(
            "U0ALICE", view, typed))})
        assert submitted.status_code == 200 and submitted.content in (b"", b"{}"), submitted.text
        done = await after_decision(client, incident["id"])
    assert done["status"] == "remediating"
    text = run.branch_files(done["pr"]["branch"])["apps/memory-hog/deployment.yaml"]
    assert "memory: 384Mi" in text


async def test_forged_stale_unknown_unauthorised_and_closed_clicks_resume_nothing(slack_flow: Callable[..., Flow],
                                                                                 slack: SlackStandIn) -> None:
    run = slack_flow()
    async with run.service() as client:
        incident = await run.alert(client)
        iid = incident["id"]
        card = await awaiting_card(slack)
        approve = buttons(card)["approve"]
        form = {"payload": json.dumps(block_action("U0ALICE", "approve", approve))}
        forged = await post_signed(client, "/slack/interactions", form, secret="not-the-signing-secret")
        stale = await post_signed(client, "/slack/interactions", form, timestamp=int(time.time()) - 600)
        unsigned = await client.post("/slack/interactions", content=b"payload=%7B%7D",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert (forged.status_code, stale.status_code, unsigned.status_code) == (401, 401, 401)
        oversized = await client.post("/slack/interactions", content=b"x" * 300_000,
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert oversized.status_code == 413
        assert (await click(client, "U0MALLORY", "approve", approve)).status_code == 200
        await until(lambda: slack.ephemerals("U0MALLORY"), "the refusal for an unauthorised user")
        assert (await click(client, "U0ALICE", "launch_missiles", approve)).status_code == 200
        assert (await click(client, "U0ALICE", "approve", '{"i": "x"}')).status_code == 200
        tampered = json.dumps({"i": iid, "h": "0" * 64})
        assert (await click(client, "U0ALICE", "approve", tampered)).status_code == 200
        await until(lambda: len(slack.ephemerals("U0ALICE")) >= 3, "answers to the bad clicks")
        assert (await client.get(f"/incidents/{iid}")).json()["status"] == "awaiting_approval"
        assert (await client.post(f"/incidents/{iid}/cancel", json={"reason": "handled elsewhere"})).status_code == 200
        assert (await click(client, "U0BOB", "approve", approve)).status_code == 200
        await until(lambda: slack.ephemerals("U0BOB"), "the refusal for a closed incident")
        final = (await client.get(f"/incidents/{iid}")).json()
    assert "not allowed to decide" in slack.ephemerals("U0MALLORY")[0]
    alice = slack.ephemerals("U0ALICE")
    assert "unknown action 'launch_missiles'" in alice[0] and "not made by opsgraph" in alice[1]
    assert "superseded" in alice[2]
    assert "no change awaiting approval (status: cancelled)" in slack.ephemerals("U0BOB")[0]
    assert final["status"] == "cancelled" and not any(e["kind"] == "approval" for e in final["timeline"])
    assert run.github.posted_pulls() == [] and run.remote_branches() == ["main"]


async def test_slack_429_and_5xx_are_retried_without_losing_the_update(slack_flow: Callable[..., Flow],
                                                                       slack: SlackStandIn) -> None:
    # 429s are scheduled by the outbox; more 5xx than the client's one quick retry: the outbox carries them.
    slack.fail_next("chat.postMessage", 429, times=2, retry_after="1")
    slack.fail_next("chat.update", 503, times=3)
    run = slack_flow()
    async with run.service() as client:
        incident = await run.alert(client)
        card = await awaiting_card(slack)
        assert card["channel"] == "C0OPS"
        await click(client, "U0ALICE", "approve", buttons(card)["approve"])
        done = await after_decision(client, incident["id"])
        await until(lambda: (c := latest_card(slack)) and done["pr"]["url"] in card_text(c), "the PR after 5xx", 60)
    assert len(slack.refused("chat.postMessage")) == 2 and len(slack.refused("chat.update")) == 3
    assert len([c for c in slack.answered("chat.postMessage") if not c.body.get("thread_ts")]) == 1


async def test_an_incident_the_crew_cannot_solve_asks_in_slack_and_a_signed_reply_resumes_it(
        slack_flow: Callable[..., Flow], slack: SlackStandIn) -> None:
    run = slack_flow("node_not_ready", help_reminder_seconds=0.3, help_sweep_seconds=0.1)
    async with run.service() as client:
        incident = await run.alert(client)
        assert incident["status"] == "awaiting_human", incident["status_reason"]
        card = await until(lambda: (c := latest_card(slack)) and "help_reply" in buttons(c) and c, "a Reply button")
        assert "A person is needed" in card_text(card)
        await until(lambda: any(t.startswith(":alarm_clock: Reminder") for t in slack.thread_replies()),
                    "the reminder in the card's thread")
        assert (await click(client, "U0ALICE", "help_reply", buttons(card)["help_reply"])).status_code == 200
        [opened] = await until(lambda: slack.answered("views.open"), "the Reply modal")
        view = opened.body["view"]
        options = [o["value"] for o in view["blocks"][1]["element"]["options"]]
        assert view["callback_id"] == "help_reply" and options[0] == "diagnose" and "resolve" in options
        values = {"action": {"value": {"type": "static_select", "selected_option": {"value": "resolve"}}},
                  "text": {"value": {"type": "plain_text_input", "value": "cordoned the node, kubelet restarted"}}}
        unauthorised = await post_signed(client, "/slack/interactions",
                                         {"payload": json.dumps(view_submission("U0MALLORY", view, values))})
        assert unauthorised.status_code == 200 and "not allowed" in unauthorised.json()["errors"]["text"]
        submitted = await post_signed(client, "/slack/interactions",
                                      {"payload": json.dumps(view_submission("U0ALICE", view, values))})
        assert submitted.status_code == 200 and submitted.content in (b"", b"{}"), submitted.text
        replayed = await post_signed(client, "/slack/interactions",
                                     {"payload": json.dumps(view_submission("U0BOB", view, values))})
        assert "already answered by slack:U0ALICE" in replayed.json()["errors"]["text"]
        done = await after_help(client, incident["id"])
        final_card = await until(lambda: (c := latest_card(slack)) and "resolved" in c["text"] and c, "a resolved card")
        await until(lambda: any("replied (resolve)" in t for t in slack.thread_replies()), "the reply in the thread")
    report = [e for e in done["timeline"] if e["kind"] == "report"][-1]
    assert "resolved by slack:U0ALICE: cordoned the node, kubelet restarted" in report["message"]
    thread = slack.thread_replies()
    assert thread[0].startswith(":sos: A person is needed") and f"POST /incidents/{incident['id']}/help" in thread[0]
    assert "<@U0ALICE> replied (resolve): cordoned the node, kubelet restarted" in thread
    assert sum(t.startswith(":alarm_clock:") for t in thread) == 1
    assert any(e["kind"] == "help" and e["actor"] == "slack:U0ALICE" for e in done["timeline"])
    assert "help_reply" not in buttons(final_card)


async def test_socket_mode_click_approves_with_no_public_endpoint(slack_flow: Callable[..., Flow],
                                                                  slack: SlackStandIn) -> None:
    run = slack_flow(slack_mode="socket", slack_app_token=SecretStr(APP_TOKEN), slack_signing_secret=None)
    async with socket_mode_standin(slack) as socket, run.service() as client:
        await asyncio.wait_for(socket.connected.wait(), 30)
        incident = await run.alert(client)
        card = await awaiting_card(slack)
        not_here = await click(client, "U0ALICE", "approve", buttons(card)["approve"])
        assert not_here.status_code == 404  # socket mode: no HTTP endpoint takes clicks
        assert (await client.get(f"/incidents/{incident['id']}")).json()["status"] == "awaiting_approval"
        await socket.push("interactive", block_action("U0ALICE", "approve", buttons(card)["approve"]), "env-1")
        await until(lambda: "env-1" in socket.acks, "the envelope's ack")
        done = await after_decision(client, incident["id"])
        await socket.push("interactive", block_action("U0BOB", "approve", buttons(card)["approve"]), "env-2")
        refusal = await until(lambda: slack.ephemerals("U0BOB"), "the answer to the second click")
    assert done["status"] == "remediating" and len(run.github.posted_pulls()) == 1
    assert "already decided: approve by slack:U0ALICE" in refusal[0]


async def test_feedback_slash_command_and_a_new_alert_on_a_parked_incident(slack_flow: Callable[..., Flow],
                                                                           slack: SlackStandIn) -> None:
    run = slack_flow("node_not_ready", slack_routes="cluster=prod-*>C0PROD;priority=1>C0PAGE")
    async with run.service() as client:
        incident = await run.alert(client)
        iid = incident["id"]
        card = await until(lambda: (c := latest_card(slack)) and "help_reply" in buttons(c) and c, "the parked card")
        assert incident["priority"] == "P1" and card["channel"] == "C0PAGE"  # routed by priority
        assert (await click(client, "U0ALICE", "feedback_up", buttons(card)["feedback_up"])).status_code == 200
        await until(lambda: slack.ephemerals("U0ALICE"), "thanks for the feedback")
        given = await client.post(f"/incidents/{iid}/feedback",
                                  json={"user": "dave", "vote": "down", "comment": "took too long to ask"})
        assert given.status_code == 201
        bad = await client.post(f"/incidents/{iid}/feedback", json={"user": "dave", "vote": "meh"})
        missing = await client.post("/incidents/999999/feedback", json={"user": "dave", "vote": "up"})
        feedback = (await client.get(f"/incidents/{iid}/feedback")).json()
        counted = (await client.get(f"/incidents/{iid}")).json()["feedback"]

        command = await post_signed(client, "/slack/commands", {
            "command": "/opsgraph", "text": str(iid), "user_id": "U0ALICE", "channel_id": "C0OPS",
            "team_id": "T0ACME", "trigger_id": "1.2.3", "response_url": "http://127.0.0.1:9/unused"})
        usage = await post_signed(client, "/slack/commands", {
            "command": "/opsgraph", "text": "drop database", "user_id": "U0ALICE", "channel_id": "C0OPS",
            "team_id": "T0ACME", "trigger_id": "1.2.4", "response_url": "http://127.0.0.1:9/unused"})

        # The same node fails again with a new alert while the incident waits for a person.
        alerts = [a.model_dump(mode="json", exclude_none=True) for a in run.sim.scenario.alerts]
        alerts[0]["labels"]["alertname"] = "KubeNodeUnreachable"
        payload = webhook_payload(alerts[:1], cluster=run.settings.default_cluster, cluster_label=run.settings.cluster_label)
        posted = await client.post("/webhooks/alertmanager", json=payload)
        assert posted.status_code == 202 and posted.json()["incident_ids"] == [iid], posted.text
        flagged = await until(lambda: (c := latest_card(slack)) and "new alert(s)" in card_text(c) and c,
                              "the new alert on the card")
    assert bad.status_code == 422 and missing.status_code == 404
    assert (feedback["up"], feedback["down"]) == (1, 1) and counted == {"up": 1, "down": 1}
    assert {(v["user_id"], v["vote"], v["comment"]) for v in feedback["votes"]} == {
        ("slack:U0ALICE", "up", None), ("dave", "down", "took too long to ask")}
    assert command.status_code == 200 and f"incident {iid}" in command.text and "awaiting_human" in command.text
    assert "usage: /opsgraph INCIDENT_ID" in usage.text
    assert re.findall(r":rotating_light: (\d+) new alert\(s\) since the incident was parked", card_text(flagged)) == ["1"]


async def test_without_slack_nothing_is_queued_for_it(flow: Callable[..., Flow], database_url: str) -> None:
    run = flow()
    async with run.service() as client:
        incident = await run.alert(client)
        assert (await client.post("/slack/interactions", content=b"payload=%7B%7D")).status_code == 404
    with psycopg.connect(database_url) as conn:
        queued = conn.execute("SELECT count(*) FROM slack_outbox").fetchone()
    assert incident["status"] == "awaiting_approval" and queued == (0,)


async def test_a_user_group_decides_and_its_members_are_checked_with_slack(slack_flow: Callable[..., Flow],
                                                                           slack: SlackStandIn) -> None:
    slack.groups["S0ONCALL"] = ["U0CAROL"]
    run = slack_flow(slack_approvers="U0ALICE,S0ONCALL,S0GONE")
    async with run.service() as client:
        incident = await run.alert(client)
        card = await awaiting_card(slack)
        await click(client, "U0MALLORY", "approve", buttons(card)["approve"])
        refusal = await until(lambda: slack.ephemerals("U0MALLORY"), "the refusal for a non-member")
        assert (await client.get(f"/incidents/{incident['id']}")).json()["status"] == "awaiting_approval"
        await click(client, "U0CAROL", "approve", buttons(card)["approve"])
        done = await after_decision(client, incident["id"])
    assert "not allowed to decide" in refusal[0] and "S0GONE could not be read" in refusal[0]
    assert done["status"] == "remediating"
    assert [e["actor"] for e in done["timeline"] if e["kind"] == "approval"] == ["slack:U0CAROL"]
    assert {c.body["usergroup"] for c in slack.calls if c.method == "usergroups.users.list"} >= {"S0ONCALL"}
