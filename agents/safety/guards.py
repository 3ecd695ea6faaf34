"""Loop guards: small pure functions the graph checks before each step.

Each returns a `GuardTrip` (truthy, with a reason for the partial conclusion) or None. On a trip the
caller stops offering tools and forces a conclusion with the findings so far, never a silent failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agents.context import Budgets


@dataclass(frozen=True)
class GuardTrip:
    guard: str  # step_limit, repeated_call, wall_clock, token_budget
    reason: str  # one sentence, fit for the diagnosis' failure_reason and the timeline


def _canonical(args: Mapping[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, default=str)


def is_last_step(steps: int, budgets: Budgets) -> bool:
    """The step the model gets no tools and must conclude (steps taken so far, 0-based next step)."""
    return steps >= budgets.max_steps - 1


def step_limit_reached(steps: int, budgets: Budgets) -> GuardTrip | None:
    if steps >= budgets.max_steps:
        return GuardTrip("step_limit", f"stopped after {steps} steps (limit {budgets.max_steps}).")
    return None


def repeated_call(history: Iterable[Any], name: str, args: Mapping[str, Any], budgets: Budgets) -> GuardTrip | None:
    """Trip when this call would be the `max_identical_calls`-th identical one (same tool, same args).

    `history` holds earlier calls: ToolResult-like objects (`.tool`, `.args`) or `(name, args)` pairs.
    """
    key = (name, _canonical(args))
    seen = 0
    for call in history:
        tool, call_args = (call if isinstance(call, tuple) else (call.tool, call.args))
        seen += (tool, _canonical(call_args)) == key
    if seen + 1 >= budgets.max_identical_calls:
        return GuardTrip("repeated_call", f"{name} was called {seen + 1} times with the same arguments "
                                          f"(limit {budgets.max_identical_calls}); its answer will not change.")
    return None


def wall_clock_exceeded(started_monotonic: float, now: float, budgets: Budgets) -> GuardTrip | None:
    elapsed = now - started_monotonic
    if elapsed >= budgets.wall_clock_seconds:
        return GuardTrip("wall_clock", f"stopped after {elapsed:.0f} s (limit {budgets.wall_clock_seconds:.0f} s).")
    return None


def token_budget_exceeded(used: int, budgets: Budgets) -> GuardTrip | None:
    if used >= budgets.max_tokens:
        return GuardTrip("token_budget", f"stopped after {used} tokens (budget {budgets.max_tokens}).")
    return None
