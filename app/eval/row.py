"""One row of the scoreboard: a scenario run's verdict (the fields it inherits) and what the run cost, with
the expected and got columns the report prints."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from app.eval.verdict import Verdict
from sim.scenario import Scenario


@dataclass(kw_only=True)
class EvalRow(Verdict):
    """One scenario run: its verdict (the fields it inherits) and what the run cost."""

    scenario: str
    run: int = 0
    expected: str = ""
    got: str = ""
    steps: int = 0
    tool_calls: int = 0
    tokens: int = 0
    seconds: float = 0.0
    incidents: int = 0
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def take(self, verdict: Verdict) -> None:
        for name in (f.name for f in fields(Verdict)):
            setattr(self, name, getattr(verdict, name))


def _resource(ref: dict[str, Any] | None) -> str:
    if not ref:
        return "-"
    return f"{ref.get('kind')}/{ref.get('namespace') or ''}/{ref.get('name')}"


def describe(scenario: Scenario, diagnosis: dict[str, Any] | None, row: EvalRow) -> None:
    """The row's expected and got columns."""
    expect = scenario.expect
    row.expected = f"{expect.category} {_resource(expect.resource.model_dump() if expect.resource else None)}"
    if diagnosis is not None:
        row.got = f"{diagnosis['category']} {_resource((diagnosis.get('affected') or [None])[0])}"
