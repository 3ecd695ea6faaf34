"""Scenarios with no alert (a healthy baseline) have no incident to open: their namespace is
diagnosed directly by the same supervisor graph, as `opsgraph diagnose` does."""

from __future__ import annotations

import time

from app.diagnose import diagnose_scenario
from app.eval.row import EvalRow, describe
from app.eval.verdict import judge
from app.settings import Settings
from sim.scenario import Scenario


async def diagnose_directly(scenario: Scenario, base: Settings, row: EvalRow) -> EvalRow:
    started = time.monotonic()
    result = await diagnose_scenario(scenario, base)
    row.seconds = round(time.monotonic() - started, 3)
    describe(scenario, result["diagnosis"], row)
    row.take(judge(scenario, [{"id": "-", "status": "diagnosed", "diagnosis": result["diagnosis"]}], []))
    budget = result.get("budget") or {}
    row.steps, row.tool_calls, row.tokens = budget.get("steps", 0), budget.get("tool_calls", 0), budget.get("tokens", 0)
    row.details = {"path": "direct (no alert)", "root_cause": result["diagnosis"].get("root_cause")}
    return row
