"""The GitOps toolset: from a Diagnosis to a validated, minimal change of the GitOps repo, and a branch.

The only code (with `app/integrations/github`) that touches git. Read in this order:
`tree` (the repo as kustomize renders it) → `locate` (which document owns a field) → `edit`
(round-trip YAML, minimal diff) → `validate` (schemas and policy) → `plan` (all of it, pure) →
`repo` (clone, branch, commit, push; idempotent).
"""

from agents.toolsets.gitops.edit import Edit, apply_change, changed_lines, diff_hash, unified_diff
from agents.toolsets.gitops.fieldpath import REMOVE, FieldPathError, normalize_path, parse_path
from agents.toolsets.gitops.fixes import FixFacts
from agents.toolsets.gitops.locate import Location, ObjectNotInRepo, locate
from agents.toolsets.gitops.plan import Plan, PlanStep, plan_changes
from agents.toolsets.gitops.repo import GitOpsRepo
from agents.toolsets.gitops.tree import RepoTree
from agents.toolsets.gitops.validate import ValidationProblem, validate_change

__all__ = [
    "REMOVE", "Edit", "FieldPathError", "FixFacts", "GitOpsRepo", "Location", "ObjectNotInRepo", "Plan",
    "PlanStep", "RepoTree", "ValidationProblem", "apply_change", "changed_lines", "diff_hash", "locate",
    "normalize_path", "parse_path", "plan_changes", "unified_diff", "validate_change",
]
