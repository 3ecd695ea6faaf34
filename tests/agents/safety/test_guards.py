"""Loop guards: each a pure function with its table of cases."""

from __future__ import annotations

import pytest

from agents.context import Budgets
from agents.safety.guards import (
    is_last_step,
    repeated_call,
    step_limit_reached,
    token_budget_exceeded,
    wall_clock_exceeded,
)

B = Budgets(max_steps=12, max_identical_calls=3, wall_clock_seconds=300, max_tokens=60_000)
LOGS = ("get_logs", {"namespace": "default", "name": "web-1"})


@pytest.mark.parametrize(("steps", "tripped"), [(0, False), (11, False), (12, True), (40, True)])
def test_step_limit(steps: int, tripped: bool) -> None:
    trip = step_limit_reached(steps, B)
    assert bool(trip) is tripped
    if trip:
        assert trip.guard == "step_limit" and trip.reason == f"stopped after {steps} steps (limit 12)."


@pytest.mark.parametrize(("steps", "last"), [(0, False), (10, False), (11, True), (12, True)])
def test_last_step_offers_no_tools(steps: int, last: bool) -> None:
    assert is_last_step(steps, B) is last


@pytest.mark.parametrize(("history", "tripped"), [
    pytest.param([], False, id="first call"),
    pytest.param([LOGS], False, id="second call"),
    pytest.param([LOGS, LOGS], True, id="third identical call"),
    pytest.param([LOGS, ("get_logs", {"name": "web-1", "namespace": "default"})], True, id="key order ignored"),
    pytest.param([LOGS, ("get_logs", {"namespace": "default", "name": "web-2"})], False, id="other args"),
    pytest.param([LOGS, ("describe_pod", LOGS[1])], False, id="other tool"),
])
def test_repeated_call(history: list, tripped: bool) -> None:  # type: ignore[type-arg]
    trip = repeated_call(history, *LOGS, B)
    assert bool(trip) is tripped
    if trip:
        assert trip.reason == ("get_logs was called 3 times with the same arguments (limit 3); its answer "
                               "will not change.")


def test_repeated_call_reads_tool_results() -> None:
    class Result:
        tool, args = LOGS

    assert repeated_call([Result(), Result()], *LOGS, B)


@pytest.mark.parametrize(("elapsed", "tripped"), [(0, False), (299.9, False), (300, True), (1000, True)])
def test_wall_clock(elapsed: float, tripped: bool) -> None:
    assert bool(wall_clock_exceeded(1000.0, 1000.0 + elapsed, B)) is tripped


@pytest.mark.parametrize(("used", "tripped"), [(0, False), (59_999, False), (60_000, True)])
def test_token_budget(used: int, tripped: bool) -> None:
    trip = token_budget_exceeded(used, B)
    assert bool(trip) is tripped
    if trip:
        assert trip.reason == "stopped after 60000 tokens (budget 60000)."
