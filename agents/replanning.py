"""Between planning a change and asking a person: the cluster's dry run, and a model's second look.

`plan_fix` plans the diagnosis' fixes (agents/remediation.py). Before the approval gate:
- with `OPSGRAPH_DRY_RUN` on, the rendered objects the change touches are dry-run against the
  incident's cluster; a rejection is one more validation error on the plan (`dry_run_plan`);
- a plan that fails its checks because of a value a model could correct (`replan_problems`) is sent
  to the model with the problems quoted; its corrected fixes are planned again (`replan_with_model`),
  at most `RemediationSetup.replan_attempts` times. Still failing, the incident goes to a person with
  every problem listed (`replan_escalation`).
Without a model nothing is guessed: the plan escalates as it always did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError

from agents.context import Context
from agents.diagnosis import Diagnosis, ResourceRef, SuggestedFix
from agents.errors import PermanentError, TemporaryError
from agents.prompts import render_prompt
from agents.remediation import RemediationSetup
from agents.toolsets.gitops.plan import Plan
from agents.toolsets.gitops.validate import ValidationProblem, changed_objects

# Notes of a plan with nothing planned that no corrected value can help: a person must act.
_NOT_A_VALUE_PROBLEM = ("is not in the GitOps repo", "needs a hand edit", "no concrete value to set", " is already ")
_NOTHING_PLANNED = "no change could be planned"


class CorrectedFix(BaseModel):
    resource: ResourceRef
    field_path: str = Field(description="Field on the live object, e.g. "
                                        "spec.template.spec.containers[name=web].resources.limits.memory")
    new_value: Any = Field(description="The concrete, valid value to set.")
    rationale: str


class CorrectedFixes(BaseModel):
    """What the model is asked for: the complete corrected list of fixes."""

    fixes: list[CorrectedFix] = Field(min_length=1)


def replan_problems(plan: Plan) -> list[str]:
    """The problems a corrected value could solve, quoted for the model; [] when replanning cannot help
    (nothing configured, repo unreadable, object not in the repo, a value only a person can give)."""
    if plan.ready:
        return []
    if plan.escalate_reason is None:
        return [str(problem) for problem in plan.errors]
    if not plan.escalate_reason.startswith(_NOTHING_PLANNED):
        return []
    fixable = [note for note in plan.notes if not any(marker in note for marker in _NOT_A_VALUE_PROBLEM)]
    return fixable if fixable and len(fixable) == len(plan.notes) else []


def can_replan(setup: RemediationSetup, attempts: int) -> bool:
    return setup.model is not None and attempts < setup.replan_attempts


async def replan_with_model(model: BaseChatModel, diagnosis: Diagnosis, plan: Plan,
                            problems: Sequence[str]) -> tuple[Diagnosis, str | None]:
    """Ask the model for corrected fixes; the diagnosis with them, or unchanged plus why the answer was unusable."""
    prompt = render_prompt("replan", diagnosis=diagnosis, steps=plan.steps, problems=list(problems))
    ask = HumanMessage("Correct the fixes so the change passes every check.")
    try:
        answer = await model.with_structured_output(CorrectedFixes).ainvoke([SystemMessage(prompt), ask])
        corrected = answer if isinstance(answer, CorrectedFixes) else CorrectedFixes.model_validate(answer)
    except (ValidationError, OutputParserException, ValueError) as exc:
        return diagnosis, f"the model's corrected fixes were unusable: {str(exc).splitlines()[0]}"
    fixes = [SuggestedFix(resource=fix.resource, field_path=fix.field_path, new_value=fix.new_value,
                          rationale=f"{fix.rationale} (corrected after: {'; '.join(problems)[:300]})")
             for fix in corrected.fixes]
    return diagnosis.model_copy(update={"suggested_fixes": fixes}), None


def replan_escalation(plan: Plan, attempts: int, seen: Sequence[str]) -> str:
    """Why the incident goes to a person, with every problem any attempt ran into."""
    if plan.escalate_reason and not attempts:
        return plan.escalate_reason
    current = [str(problem) for problem in plan.errors] or ([plan.escalate_reason] if plan.escalate_reason else [])
    if not attempts:
        return "the planned change does not validate: " + "; ".join(current)
    problems = list(dict.fromkeys([*seen, *current]))
    return (f"the planned change still does not validate after {attempts} correction(s) by the model: "
            + "; ".join(problems))


async def dry_run_plan(setup: RemediationSetup, context: Context, plan: Plan) -> Plan:
    """The plan with the cluster's dry-run rejections as errors (and skipped checks as warnings)."""
    if setup.dry_run is None or not plan.ready or setup.repo_url is None:
        return plan
    repo = setup.repo(context.incident_id)
    try:
        tree = await asyncio.to_thread(repo.tree)  # plan_remediation left the clone on the base branch
    except (PermanentError, TemporaryError) as exc:
        return plan.model_copy(update={"problems": [*plan.problems, ValidationProblem(
            file="", path="", message=f"server-side dry run skipped: the GitOps repository could not be read: {exc}",
            severity="warning")]})
    objects = changed_objects({**tree, **plan.files}, plan.files)
    results = await setup.dry_run.check(context, objects)
    found = [ValidationProblem(file=result.object, path="", severity="error" if result.verdict == "rejected" else "warning",
                               message=f"the cluster rejected a server-side dry run: {result.message}"
                               if result.verdict == "rejected" else f"server-side dry run skipped: {result.message}")
             for result in results if result.verdict != "accepted"]
    return plan.model_copy(update={"problems": [*plan.problems, *found]}) if found else plan
