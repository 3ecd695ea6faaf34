"""Per-agent allowlists and safety levels decide before any call runs."""

from __future__ import annotations

import pytest

from agents.safety.levels import SafetyLevel
from agents.safety.policy import decide, decide_scope

ALLOWED = ["get_logs", "scale_deployment", "open_pull_request"]


@pytest.mark.parametrize(("tool", "level", "agent", "verdict", "message"), [
    ("get_logs", SafetyLevel.READ_ONLY, "diagnostics", "run", ""),
    ("describe_pod", SafetyLevel.READ_ONLY, "diagnostics", "refuse",
     "refused: describe_pod is not allowed for the diagnostics agent; tools you can call: get_logs, "
     "open_pull_request, scale_deployment."),
    ("nope", None, "qa", "refuse",
     "refused: there is no tool named 'nope'; tools you can call: get_logs, open_pull_request, scale_deployment."),
    ("delete_resource", SafetyLevel.FORBIDDEN, "remediation", "refuse",
     "refused: delete_resource is forbidden for every agent (it could destroy data or expose secrets); "
     "continue with read-only tools."),
    ("scale_deployment", SafetyLevel.LOW_RISK, "diagnostics", "refuse",
     "refused: scale_deployment is low_risk and the diagnostics agent may only run read_only tools."),
    ("scale_deployment", SafetyLevel.LOW_RISK, "remediation", "approval_required",
     "scale_deployment is low_risk: it needs a person's confirmation before it runs; nothing was changed."),
    ("open_pull_request", SafetyLevel.HIGH_RISK, "remediation", "approval_required",
     "open_pull_request is high_risk: it needs a person's approval before it runs; nothing was changed."),
], ids=["read-only runs", "not allowlisted", "unknown", "forbidden", "above ceiling", "low risk", "high risk"])
def test_decide(tool: str, level: SafetyLevel | None, agent: str, verdict: str, message: str) -> None:
    decision = decide(tool, level, agent=agent, allowed=ALLOWED)
    assert (decision.verdict, decision.message) == (verdict, message)


@pytest.mark.parametrize(("agent", "enabled", "approved", "verdict", "message"), [
    ("diagnostics", True, True, "refuse",
     "refused: scale_deployment is low_risk and the diagnostics agent may only run read_only tools."),
    ("chat", True, True, "refuse", "refused: scale_deployment is low_risk and the chat agent may only run read_only tools."),
    ("remediation", False, True, "refuse", "refused: scale_deployment is a direct cluster action and direct actions "
     "are off for this cluster (OPSGRAPH_DIRECT_ACTIONS); propose a GitOps change instead."),
    ("remediation", True, False, "approval_required",
     "scale_deployment is low_risk: it needs a person's confirmation before it runs; nothing was changed."),
    ("remediation", True, True, "run", ""),
], ids=["diagnostics never", "unknown role never", "remediation, off", "remediation, not approved",
        "remediation, enabled and approved"])
def test_direct_actions(agent: str, enabled: bool, approved: bool, verdict: str, message: str) -> None:
    decision = decide("scale_deployment", SafetyLevel.LOW_RISK, agent=agent, allowed=ALLOWED, direct_actions=enabled,
                      approved=approved)
    assert (decision.verdict, decision.message) == (verdict, message)


@pytest.mark.parametrize(("level", "enabled", "verdict"), [
    (SafetyLevel.LOW_RISK, True, "run"), (SafetyLevel.LOW_RISK, False, "refuse"), (SafetyLevel.READ_ONLY, False, "run"),
], ids=["enabled namespace", "other namespace", "read-only is not scoped"])
def test_direct_action_scope(level: SafetyLevel, enabled: bool, verdict: str) -> None:
    decision = decide_scope("scale", level, cluster="prod", namespace="web", enabled=enabled)
    assert decision.verdict == verdict
    if verdict == "refuse":
        assert decision.message == ("refused: scale on prod/web: direct actions are not enabled for that namespace "
                                    "(OPSGRAPH_DIRECT_ACTIONS); propose a GitOps change instead.")
