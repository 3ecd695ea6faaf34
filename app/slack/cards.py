"""The incident card (Block Kit): one message per incident, rendered from the incident's current row.

Buttons carry what they decide on: the incident and the change's hash (approval buttons) or the
question's id (Reply), so a click answers exactly what was on screen when it was rendered.
"""

from __future__ import annotations

import json
from typing import Any

from agents.knowledge.history import SeenBefore
from agents.remediation import is_revert

DIFF_LINES = 30  # on the card; the full diff goes to the thread
TEXT_LIMIT = 2900  # a section's text is capped at 3000 characters by Slack
STATE_LABELS = {
    "open": "open", "diagnosing": "diagnosing", "awaiting_approval": "awaiting approval",
    "awaiting_human": "needs a person", "remediating": "PR opened", "verifying": "verifying",
    "reopened": "reopened", "resolved": "resolved", "failed": "failed", "cancelled": "cancelled",
}
ICONS = {"resolved": ":white_check_mark:", "failed": ":x:", "awaiting_approval": ":raised_hand:",
         "awaiting_human": ":sos:", "reopened": ":warning:", "remediating": ":arrow_heading_up:"}


def button_value(**fields: Any) -> str:
    return json.dumps(fields, separators=(",", ":"), sort_keys=True)


def truncated_diff(diff: str, lines: int = DIFF_LINES) -> tuple[str, bool]:
    all_lines = diff.splitlines()
    shown = "\n".join(all_lines[:lines])[:TEXT_LIMIT - 20]
    return shown, len(all_lines) > lines or len(shown) < len("\n".join(all_lines[:lines]))


def _who(actor: str) -> str:
    """A Slack approver (`slack:U123`) as a mention, anyone else by name."""
    return f"<@{actor.removeprefix('slack:')}>" if actor.startswith("slack:") else actor


def incident_card(incident: dict[str, Any], *, decision: dict[str, Any] | None = None,
                  help_request: dict[str, Any] | None = None, new_alerts: int = 0) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for the incident as it is now."""
    iid, status = incident["id"], incident["status"]
    where = "/".join(p for p in (incident["cluster"], incident.get("namespace"),
                                 f"{incident.get('resource_kind') or ''} {incident.get('resource_name') or ''}".strip())
                     if p)
    label = STATE_LABELS.get(status, status)
    text = f"[P{incident['priority']}] incident {iid} {label}: {incident['title']}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": text[:150]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text":
            f"{ICONS.get(status, ':mag:')} *{label}* · P{incident['priority']} · `{where}`"
            + (f" · {incident['status_reason']}" if incident.get("status_reason") else "")}]},
    ]
    diagnosis = incident.get("diagnosis") or {}
    if diagnosis:
        evidence = "\n".join(f"• {e.get('summary') or e.get('detail') or e}" for e in diagnosis.get("evidence", [])[:4])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            f"*Root cause* ({diagnosis.get('category')}, confidence {float(diagnosis.get('confidence', 0)):.2f}):\n"
            f"{diagnosis.get('root_cause')}" + (f"\n*Evidence*\n{evidence}" if evidence else ""))[:TEXT_LIMIT]}})
    if diagnosis.get("history"):
        # Incident memory (issue 13): how often this was seen and whether the last fix held.
        seen = SeenBefore.model_validate(diagnosis["history"])
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
            f":repeat: {seen.line()}"[:TEXT_LIMIT]}]})
    if new_alerts:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
            f":rotating_light: {new_alerts} new alert(s) since the incident was parked"}]})
    plan = incident.get("plan") or {}
    if plan.get("diff"):
        shown, cut = truncated_diff(plan["diff"])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text":
            f"*Change* `{plan.get('diff_hash', '')[:12]}` (risk {plan.get('risk', '?')})\n```{shown}```"
            + ("\n_(truncated: the full diff is in the thread)_" if cut else "")}})
    pr = incident.get("pr") or {}
    if pr.get("url"):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Pull request*: <{pr['url']}>"}})
    if decision:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
            f"{decision['decision']} by {_who(decision['approver'])} at {decision['at']}"}]})
    actions: list[dict[str, Any]] = []
    if status == "awaiting_approval" and plan.get("kind") == "approval":
        value = button_value(i=iid, h=plan["diff_hash"])
        actions += [
            {"type": "button", "action_id": "approve", "text": {"type": "plain_text", "text": "Approve"},
             "style": "primary", "value": value},
            {"type": "button", "action_id": "reject", "text": {"type": "plain_text", "text": "Reject"},
             "style": "danger", "value": value},
        ]
        if not is_revert(plan.get("steps") or []):  # a revert is git's, approved or rejected as it is
            actions.append({"type": "button", "action_id": "edit", "text": {"type": "plain_text", "text": "Edit"},
                            "value": value})
    if help_request and not help_request.get("reply") and status in ("awaiting_human", "reopened"):
        request = help_request["request"]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text":
            f":sos: *A person is needed*: {request['reason']}"[:TEXT_LIMIT]}})
        actions.append({"type": "button", "action_id": "help_reply", "text": {"type": "plain_text", "text": "Reply"},
                        "value": button_value(i=iid, r=request["request_id"])})
    actions += [
        {"type": "button", "action_id": "feedback_up", "text": {"type": "plain_text", "text": ":+1:", "emoji": True},
         "value": button_value(i=iid, v="up")},
        {"type": "button", "action_id": "feedback_down", "text": {"type": "plain_text", "text": ":-1:", "emoji": True},
         "value": button_value(i=iid, v="down")},
    ]
    blocks.append({"type": "actions", "block_id": f"incident-{iid}", "elements": actions})
    return text, blocks


def edit_modal(incident_id: int, plan: dict[str, Any], channel: str | None) -> dict[str, Any]:
    """The Edit modal: one input per planned step, prefilled with the value the plan would set."""
    inputs = [{"type": "input", "block_id": f"step-{n}", "label": {"type": "plain_text", "text": step["object_field"][:150]},
               "element": {"type": "plain_text_input", "action_id": "value",
                           "initial_value": step["new_value"] if isinstance(step["new_value"], str)
                           else json.dumps(step["new_value"])}}
              for n, step in enumerate(plan.get("steps", []))]
    return {"type": "modal", "callback_id": "edit_plan", "title": {"type": "plain_text", "text": "Edit the change"},
            "submit": {"type": "plain_text", "text": "Approve edited"},
            "private_metadata": button_value(i=incident_id, h=plan["diff_hash"], c=channel,
                                             f=[step["object_field"] for step in plan.get("steps", [])]),
            "blocks": inputs}


def reply_modal(incident_id: int | None, request: dict[str, Any], channel: str | None, *,
                thread_id: str | None = None) -> dict[str, Any]:
    """The Reply modal of a help request (an incident's, or with `thread_id` a chat thread's): what to do
    next, and the hint, resolution or answer."""
    options = [{"text": {"type": "plain_text", "text": {"diagnose": "Diagnose again with this hint",
                                                        "plan": "Plan a change again",
                                                        "revert": "Revert the merged fix (asks for approval)",
                                                        "resolve": "Close with this resolution",
                                                        "answer": "Answer the chat user"}[a]}, "value": a}
               for a in request.get("actions", [])]
    subject = {"t": thread_id} if thread_id is not None else {"i": incident_id}
    return {"type": "modal", "callback_id": "help_reply", "title": {"type": "plain_text", "text": "Reply"},
            "submit": {"type": "plain_text", "text": "Send"},
            "private_metadata": button_value(**subject, r=request["request_id"], c=channel),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": request["reason"][:TEXT_LIMIT]}},
                {"type": "input", "block_id": "action", "label": {"type": "plain_text", "text": "Next step"},
                 "element": {"type": "static_select", "action_id": "value", "options": options,
                             "initial_option": options[0]}},
                {"type": "input", "block_id": "text", "label": {"type": "plain_text", "text": "Hint or resolution"},
                 "element": {"type": "plain_text_input", "action_id": "value", "multiline": True}},
            ]}
