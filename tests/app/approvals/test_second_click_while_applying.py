"""A second decision on a change that arrives while the worker is applying the first (the graph has
resumed, the incident not yet moved on) is refused, not recorded as a new answer: found by the approval
API fuzzer, which recorded the same person's reject twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agents.remediation import ApprovalDecision
from app.approvals.store import DecisionRefused
from app.runner import GraphRunner
from tests.support.approval_flow import Flow, after_decision, decide
from tests.support.intake import query


async def test_a_second_click_while_the_first_decision_is_applied_is_refused(
        flow: Callable[..., Flow], database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answers: list[Any] = []
    record = GraphRunner._record

    async def record_after_a_second_click(self: GraphRunner, incident_id: int, status: str, state: dict[str, Any],
                                          pending: dict[str, Any] | None = None) -> Any:
        if state.get("approval") and not answers:  # the graph applied the first decision; the incident has not moved
            second = ApprovalDecision(decision="reject", approver="bob", diff_hash=state["approval"]["diff_hash"])
            try:
                answers.append(await self.approvals.decide(incident_id, second))
            except DecisionRefused as refused:
                answers.append((refused.status, str(refused)))
        return await record(self, incident_id, status, state, pending)

    monkeypatch.setattr(GraphRunner, "_record", record_after_a_second_click)
    run = flow()
    async with run.service() as client:
        incident = await run.alert(client)
        assert (await decide(client, incident["id"], "approve", "alice")).status_code == 202
        done = await after_decision(client, incident["id"])
        while done["status"] == "awaiting_approval":
            done = await after_decision(client, incident["id"])

    assert [a[0] for a in answers] == [409] and "already decided: approve by alice" in answers[0][1]
    assert [r["approver"] for r in query(database_url, "SELECT approver FROM approvals")] == ["alice"]
    assert done["status"] == "remediating" and len(run.github.posted_pulls()) == 1
