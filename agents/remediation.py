"""What the remediation graph's nodes call: plan a fix in the GitOps repo, ask for approval, apply a
person's edits, and deliver the change as a branch and a pull request.

The approval is bound to the exact change: the request carries the diff's hash and a decision must
name it. Delivery is idempotent (same branch, no empty commit, an existing PR is reused), because a
node may run again after a crash.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, Field

from agents.diagnosis import Diagnosis, ResourceRef, SuggestedFix
from agents.errors import PermanentError, TemporaryError
from agents.toolsets.gitops.edit import diff_hash, unified_diff
from agents.toolsets.gitops.plan import Plan, PlanStep, plan_changes
from agents.toolsets.gitops.repo import GitOpsRepo
from agents.toolsets.gitops.validate import validate_change

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agents.toolsets.kubernetes.dry_run import ServerDryRun


class PullRequestRecord(BaseModel):
    url: str
    number: int | None = None
    repo: str | None = None
    branch: str
    base: str
    commit: str
    compare_url: str | None = None
    note: str = ""  # e.g. "no GitHub token: branch pushed, compare URL recorded"


class PullRequestOpener(Protocol):
    """Opens (or finds) the pull request for a pushed branch; `app/` supplies GitHub or compare-URL."""

    async def open(self, *, incident_id: str, branch: str, base: str, commit: str, diagnosis: Diagnosis,
                   plan: Plan) -> PullRequestRecord: ...


class ChangeClaims(Protocol):
    """Which incident is proposing a change to a live object; `app/` supplies the Postgres one."""

    async def claim(self, cluster: str, incident_id: str, objects: list[str]) -> str | None:
        """Claim `objects` (Kind/namespace/name) for the incident: None, or the incident holding one of them."""
        ...


@dataclass(frozen=True)
class RemediationSetup:
    """The GitOps side of one process; None repo URL means remediation escalates instead."""

    repo_url: str | None
    work_root: Path
    opener: PullRequestOpener
    base_branch: str = "main"
    author_name: str = "opsgraph"
    author_email: str = "opsgraph@localhost"
    kubernetes_version: str = "1.31"
    approval_ttl_seconds: float = 8 * 3600
    model: BaseChatModel | None = None  # corrects a plan that fails its checks (agents/replanning.py)
    replan_attempts: int = 2
    dry_run: ServerDryRun | None = None  # None: no server-side dry run (OPSGRAPH_DRY_RUN off)
    claims: ChangeClaims | None = None  # None: no check for another incident's pending change (tests, diagnose)
    # Told each delivery step it finished (`after_commit`, `after_push`, `after_pull_request`); only the kill
    # tests use it, to stop the process between two steps.
    step_done: Callable[[str], None] | None = None

    def repo(self, incident_id: str) -> GitOpsRepo:
        # One clone per incident: parallel workers never share a work tree.
        assert self.repo_url is not None
        return GitOpsRepo(self.repo_url, self.work_root / f"incident-{incident_id}", base_branch=self.base_branch)


class FieldEdit(BaseModel):
    """A person's change to one planned step: its field on the live object gets another value."""

    object_field: str
    new_value: Any


class ApprovalDecision(BaseModel):
    """The resume value of the approval gate."""

    decision: Literal["approve", "reject", "edit"]
    approver: str = Field(min_length=1, max_length=200)
    diff_hash: str = Field(min_length=64, max_length=64)
    edits: list[FieldEdit] = []
    reason: str | None = Field(default=None, max_length=2000)
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


async def plan_remediation(setup: RemediationSetup, incident_id: str, diagnosis: Diagnosis,
                           edits: list[FieldEdit] | None = None) -> Plan:
    """Plan the diagnosis' fixes against the base branch; a person's edits override planned values."""
    if setup.repo_url is None:
        return Plan(escalate_reason="no GitOps repository is configured (OPSGRAPH_GITOPS_REPO_URL)")
    if edits:
        diagnosis = with_edits(diagnosis, edits)
    repo = setup.repo(incident_id)

    def read_base() -> dict[str, str]:
        repo.checkout_branch(setup.base_branch)
        return repo.tree()

    try:
        tree = await asyncio.to_thread(read_base)
    except (PermanentError, TemporaryError) as exc:
        return Plan(escalate_reason=f"the GitOps repository could not be read: {exc}")
    return plan_changes(diagnosis, tree, kubernetes_version=setup.kubernetes_version)


async def plan_revert(setup: RemediationSetup, incident_id: str, diagnosis: Diagnosis, commit: str) -> Plan:
    """A change that undoes the fix `commit` on the base branch, for the same approval gate as any fix
    (offered after a failed verification). Nothing to undo, or a conflict, escalates with the reason."""
    if setup.repo_url is None:
        return Plan(escalate_reason="no GitOps repository is configured (OPSGRAPH_GITOPS_REPO_URL)")
    repo = setup.repo(incident_id)

    def trees() -> tuple[dict[str, str], dict[str, str]]:
        repo.checkout_branch(setup.base_branch)
        return repo.tree(), repo.reverted_tree(commit)

    try:
        before, after = await asyncio.to_thread(trees)
    except (PermanentError, TemporaryError) as exc:
        return Plan(escalate_reason=f"{commit[:12]} cannot be reverted on {setup.base_branch}: {exc}")
    changed = sorted(path for path in after if before.get(path) != after[path])
    if not changed:
        return Plan(escalate_reason=f"reverting {commit[:12]} changes nothing on {setup.base_branch}: "
                                    "the fix is not there (not merged yet?)")
    target = diagnosis.affected[0] if diagnosis.affected else ResourceRef(kind="Repository", name=setup.base_branch)
    steps = [PlanStep(file=path, object=target, object_field=f"revert of {commit[:12]}", field_path="(file)",
                      via=REVERT_VIA, rationale="the merged fix did not make the workload healthy",
                      risk="medium", risk_note="returns the file to what it was before the fix (the fault stays)",
                      rollback=f"merge the original fix {commit[:12]} again") for path in changed]
    diff = "".join(unified_diff(path, before.get(path, ""), after[path]) for path in changed)
    # The revert restores files that were live before the fix: what the checks find there is shown to the
    # approver as a warning, not a reason to refuse going back.
    problems = [p.model_copy(update={"severity": "warning", "message": f"{p.message} (as before the fix)"})
                for p in validate_change(before, after, changed, kubernetes_version=setup.kubernetes_version)]
    return Plan(steps=steps, diff=diff, diff_hash=diff_hash(diff), files={path: after[path] for path in changed},
                problems=problems, notes=[f"revert of {commit}"])


def with_edits(diagnosis: Diagnosis, edits: list[FieldEdit]) -> Diagnosis:
    """The diagnosis with a person's values in place of the planned ones (new fields on its first resource)."""
    by_field = {edit.object_field: edit.new_value for edit in edits}
    fixes = [fix.model_copy(update={"new_value": by_field[fix.field_path],
                                    "rationale": f"{fix.rationale} (value edited at approval)"})
             if fix.field_path in by_field else fix for fix in diagnosis.suggested_fixes]
    unknown = set(by_field) - {fix.field_path for fix in diagnosis.suggested_fixes}
    fixes += [SuggestedFix(resource=diagnosis.affected[0], field_path=path, new_value=by_field[path],
                           rationale="added at approval") for path in sorted(unknown) if diagnosis.affected]
    return diagnosis.model_copy(update={"suggested_fixes": fixes})


def approval_request(incident_id: str, diagnosis: Diagnosis, plan: Plan, ttl_seconds: float) -> dict[str, Any]:
    """What a person is asked to approve: the exact change, its risk, and the evidence behind it."""
    return {
        "kind": "approval", "incident_id": incident_id, "diff_hash": plan.diff_hash, "diff": plan.diff,
        "steps": [step.model_dump(mode="json") for step in plan.steps],
        "risk": max((step.risk for step in plan.steps), default="low", key=["low", "medium", "high"].index),
        "root_cause": diagnosis.root_cause, "evidence": [e.model_dump() for e in diagnosis.evidence[:5]],
        "warnings": [p.model_dump(mode="json") for p in plan.problems if p not in plan.errors],
        "expires_at": (datetime.now(UTC) + timedelta(seconds=ttl_seconds)).isoformat(),
    }


REVERT_VIA = "git revert"


def is_revert(request_or_plan_steps: list[dict[str, Any]]) -> bool:
    """Whether a pending change is a revert (made by git; approved or rejected as it is, never edited)."""
    return any(step.get("via") == REVERT_VIA for step in request_or_plan_steps)


def decision_problem(decision: ApprovalDecision, plan: Plan) -> str | None:
    """Why a decision cannot be applied to this plan, or None."""
    if decision.diff_hash != plan.diff_hash:
        return (f"the decision names change {decision.diff_hash[:12]}, but the pending change is "
                f"{plan.diff_hash[:12]}: it was superseded")
    if decision.decision == "edit" and not decision.edits:
        return "an edit decision carries no edited values"
    if decision.decision == "edit" and is_revert([step.model_dump() for step in plan.steps]):
        return "a revert is approved or rejected as git made it; it cannot be edited"
    return None


def branch_name(incident_id: str, diagnosis: Diagnosis) -> str:
    target = diagnosis.affected[0].name if diagnosis.affected else diagnosis.category
    slug = re.sub(r"[^a-z0-9]+", "-", f"{diagnosis.category}-{target}".lower()).strip("-")[:40].strip("-")
    return f"opsgraph/{incident_id}-{slug}"


async def deliver(setup: RemediationSetup, incident_id: str, diagnosis: Diagnosis, plan: Plan,
                  branch_suffix: str = "") -> PullRequestRecord:
    """Commit the plan on the incident's branch, push it, and open (or find) the pull request.
    `branch_suffix` ("-revert"): a further change of the same incident gets its own branch and PR."""
    repo = setup.repo(incident_id)
    branch = branch_name(incident_id, diagnosis) + branch_suffix
    message = f"opsgraph: {diagnosis.category} in {diagnosis.affected[0] if diagnosis.affected else 'cluster'}\n\n" \
              f"{diagnosis.root_cause}\n\nIncident {incident_id}; change {plan.diff_hash[:12]}."

    step_done = setup.step_done or (lambda _step: None)

    def commit_and_push() -> str:
        repo.checkout_branch(branch)
        sha = repo.commit(plan.files, message, setup.author_name, setup.author_email)
        step_done("after_commit")
        repo.push(branch)
        step_done("after_push")
        return sha

    sha = await asyncio.to_thread(commit_and_push)
    record = await setup.opener.open(incident_id=incident_id, branch=branch, base=setup.base_branch, commit=sha,
                                     diagnosis=diagnosis, plan=plan)
    step_done("after_pull_request")
    return record
