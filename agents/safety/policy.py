"""Which agent may run which tool: the per-agent allowlist plus the safety level, decided before a call.

A refusal is not an exception: it is a decision with a one-sentence message the executor feeds back to
the model, so the model can pick another tool.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from agents.safety.levels import SafetyLevel

# The most an agent role may do without a person in the loop. Roles not listed are read-only; the
# remediation agent never runs cluster writes itself (fixes go out as pull requests).
ROLE_CEILING: dict[str, SafetyLevel] = {
    "qa": SafetyLevel.READ_ONLY,
    "diagnostics": SafetyLevel.READ_ONLY,
    "rules": SafetyLevel.READ_ONLY,
    "remediation": SafetyLevel.HIGH_RISK,
}

Verdict = Literal["run", "refuse", "approval_required"]


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    message: str = ""


def decide(tool: str, level: SafetyLevel | None, *, agent: str, allowed: Iterable[str]) -> Decision:
    """Decide whether `agent` may call `tool` (None `level`: the tool does not exist)."""
    allowed = set(allowed)
    if level is None:
        known = ", ".join(sorted(allowed)) or "none"
        return Decision("refuse", f"refused: there is no tool named '{tool}'; tools you can call: {known}.")
    if level is SafetyLevel.FORBIDDEN:
        return Decision("refuse", f"refused: {tool} is forbidden for every agent (it could destroy data or "
                                  "expose secrets); continue with read-only tools.")
    if tool not in allowed:
        known = ", ".join(sorted(allowed)) or "none"
        return Decision("refuse", f"refused: {tool} is not allowed for the {agent} agent; tools you can call: "
                                  f"{known}.")
    ceiling = ROLE_CEILING.get(agent, SafetyLevel.READ_ONLY)
    if level.rank > ceiling.rank:
        return Decision("refuse", f"refused: {tool} is {level.value} and the {agent} agent may only run "
                                  f"{ceiling.value} tools.")
    if level is SafetyLevel.READ_ONLY:
        return Decision("run")
    what = "a person's confirmation" if level is SafetyLevel.LOW_RISK else "a person's approval"
    return Decision("approval_required", f"{tool} is {level.value}: it needs {what} before it runs; "
                                         "nothing was changed.")
