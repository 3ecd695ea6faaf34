"""What remediation proposes for a diagnosis: direct actions where enabled, a GitOps change checked by
schema, policy and (optionally) a server-side dry-run, a request to replan with the model, or an
escalation that says why nothing can be proposed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.context import Context
from agents.diagnosis import Diagnosis
from agents.direct_actions import ActionStep, bind_actions, described, split_actions
from agents.remediation import FieldEdit, RemediationSetup, plan_remediation, with_edits
from agents.replanning import can_replan, dry_run_plan, replan_escalation, replan_problems
from agents.toolsets.gitops.plan import Plan


@dataclass
class Proposal:
    plan: Plan
    message: str  # the timeline line
    actions: list[ActionStep] = field(default_factory=list)
    escalation: str | None = None
    replan_problems: list[str] = field(default_factory=list)  # every problem seen, when a replan is due

    def update(self) -> dict[str, Any]:
        """The state update the plan_fix node returns."""
        update: dict[str, Any] = {"plan": self.plan.model_dump(mode="json"),
                                  "escalation": {"reason": self.escalation, "from": "remediation"} if self.escalation
                                  else None}
        if self.actions:
            update["actions"] = [a.model_dump(mode="json") for a in self.actions]
        if self.replan_problems:
            update["replan_problems"] = self.replan_problems
        return update


async def propose(setup: RemediationSetup, context: Context, diagnosis: Diagnosis, *, replans: int,
                  problems_seen: list[str]) -> Proposal:
    actions, rest = split_actions(diagnosis, context)
    plan = await plan_remediation(setup, context.incident_id, rest) if rest.suggested_fixes or not actions else Plan()
    plan = bind_actions(await dry_run_plan(setup, context, plan), actions)
    if actions and (plan.ready or not rest.suggested_fixes):
        changes = f" and {len(plan.steps)} change(s) in {', '.join(sorted(plan.files))}" if plan.steps else ""
        return Proposal(plan, f"direct action(s): {described(actions)}{changes}; awaiting approval", actions)
    if plan.ready:
        if holder := await _claimed_elsewhere(setup, context, plan):
            reason = (f"incident {holder} already proposes a change to {holder_objects(plan)}; one fault gets one pull "
                      f"request, so this incident follows incident {holder}")
            return Proposal(plan, f"no change proposed: {reason}", escalation=reason)
        return Proposal(plan, f"{len(plan.steps)} change(s) in {', '.join(sorted(plan.files))}; awaiting approval")
    problems = replan_problems(plan)
    seen = list(dict.fromkeys([*problems_seen, *problems]))
    if problems and can_replan(setup, replans):
        return Proposal(plan, f"the planned change fails its checks ({'; '.join(problems)}); asking the model for "
                              f"corrected values (attempt {replans + 1} of {setup.replan_attempts})",
                        replan_problems=seen)
    reason = replan_escalation(plan, replans, seen)
    return Proposal(plan, f"no change proposed: {reason}", escalation=reason)


def holder_objects(plan: Plan) -> str:
    return ", ".join(sorted({str(step.object) for step in plan.steps}))


async def _claimed_elsewhere(setup: RemediationSetup, context: Context, plan: Plan) -> str | None:
    if setup.claims is None:
        return None
    keys = [f"{s.object.kind}/{s.object.namespace or ''}/{s.object.name}" for s in plan.steps]
    return await setup.claims.claim(context.cluster.id, context.incident_id, keys)


async def propose_edited(setup: RemediationSetup, context: Context, diagnosis: Diagnosis,
                         edits: list[FieldEdit]) -> tuple[Diagnosis, Proposal]:
    """A plan with direct actions, edited at approval: planned again from the edited values.

    An edited action is a different write to the cluster than the one approved, so when the new
    proposal still has actions it goes back to the gate and is approved exactly as it will run.
    (An edited GitOps change goes straight to its pull request: it is reviewed again at merge.)
    No model replans an edit: a person's values are taken as given or refused.
    """
    edited = with_edits(diagnosis, edits)
    return edited, await propose(setup, context, edited, replans=setup.replan_attempts, problems_seen=[])
