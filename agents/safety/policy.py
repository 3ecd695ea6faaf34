"""Which agent may run which tool: the per-agent allowlist plus the safety level, decided before a call.

A refusal is not an exception: it is a decision with a one-sentence message the executor feeds back to
the model, so the model can pick another tool.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from agents.safety.levels import SafetyLevel

# The most an agent role may do without a person in the loop. Roles not listed are read-only. The
# remediation agent's only cluster writes are the low-risk direct actions (restart, scale), and only
# where the Context enables them and after the approval gate; every other fix goes out as a pull request.
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


DIRECT_ACTION_AGENT = "remediation"
DIRECT_ACTIONS_OFF = "direct actions are off for this cluster (OPSGRAPH_DIRECT_ACTIONS)"


def decide(tool: str, level: SafetyLevel | None, *, agent: str, allowed: Iterable[str],
           direct_actions: bool | None = None, approved: bool = False) -> Decision:
    """Decide whether `agent` may call `tool` (None `level`: the tool does not exist).

    Low-risk tools are direct cluster actions. With `direct_actions` given (the executor passes whether
    its Context enables any), they are refused while it is False and need `approved` (the approval
    gate's decision) to run; which namespace they may touch is `decide_scope`'s, after validation."""
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
    if level is SafetyLevel.LOW_RISK and direct_actions is not None:
        if agent != DIRECT_ACTION_AGENT:
            return Decision("refuse", f"refused: {tool} is a direct cluster action; only the {DIRECT_ACTION_AGENT} "
                                      "agent runs those, after approval.")
        if not direct_actions:
            return Decision("refuse", f"refused: {tool} is a direct cluster action and {DIRECT_ACTIONS_OFF}; "
                                      "propose a GitOps change instead.")
        if approved:
            return Decision("run")
    what = "a person's confirmation" if level is SafetyLevel.LOW_RISK else "a person's approval"
    return Decision("approval_required", f"{tool} is {level.value}: it needs {what} before it runs; "
                                         "nothing was changed.")


def decide_scope(tool: str, level: SafetyLevel, *, cluster: str, namespace: str | None, enabled: bool) -> Decision:
    """The second look at a direct action, once its arguments name a namespace: is it enabled there?"""
    if level is not SafetyLevel.LOW_RISK or enabled:
        return Decision("run")
    return Decision("refuse", f"refused: {tool} on {cluster}/{namespace or '-'}: direct actions are not enabled "
                              "for that namespace (OPSGRAPH_DIRECT_ACTIONS); propose a GitOps change instead.")
