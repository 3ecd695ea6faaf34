"""One rule-engine run's working state: the incident, the facts its tool calls gathered, the findings so far.

Its own module so the steps that read and extend a run (the engine, the conclusion, the replaced-pod
search) import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.diagnosis import IncidentInput
from agents.rules.facts import Facts, absorb
from agents.rules.finding import Finding

STOP_AT = 0.85  # a finding this confident ends the search
CALL_ID_PREFIX = "rules-"  # the rule engine's calls are told apart from a model's by their ids


class Executor(Protocol):
    """What the engine needs of agents.toolsets.ToolExecutor."""

    cluster_unreachable: bool

    async def call(self, name: str, args: dict[str, Any], *, call_id: str | None = None) -> Any: ...


@dataclass
class Run:
    incident: IncidentInput
    executor: Executor
    facts: Facts = field(default_factory=Facts)
    vars: dict[str, str] = field(default_factory=dict)
    calls: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the diagnosis must say about how it looked (a replaced pod)
    findings: list[tuple[Finding, str, str]] = field(default_factory=list)  # (finding, check, skill)
    _done: dict[str, Any] = field(default_factory=dict)

    async def call(self, tool: str, args: dict[str, Any]) -> Any:
        """One tool call; an identical call is answered from the first one."""
        key = f"{tool}:{sorted(args.items())}"
        if key in self._done:
            return self._done[key]
        result = await self.executor.call(tool, args, call_id=f"{CALL_ID_PREFIX}{len(self.calls) + 1}")
        self._done[key] = result
        self.calls.append(result)
        absorb(self.facts, result)
        status = str(getattr(result.status, "value", result.status))
        if status not in ("ok", "no_data"):
            self.errors.append(f"{tool} {status}: {result.message or 'no message'}")
        return result

    def best(self) -> tuple[Finding, str, str] | None:
        return max(self.findings, key=lambda item: item[0].confidence, default=None)

    def confident(self) -> bool:
        best = self.best()
        return best is not None and best[0].confidence >= STOP_AT
