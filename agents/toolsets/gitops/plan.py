"""From a Diagnosis to a Plan: the exact file changes, their diff and hash, and whether they pass.

`plan_changes` is pure (a tree of texts in, a Plan out): the graph calls it in `plan_fix`, the
approval gate binds the decision to `Plan.diff_hash`, and only `open_pull_request` touches git.
A plan with nothing to change says why in `escalate_reason`: an empty pull request is never the
answer to an app bug or a dead node.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.diagnosis import Diagnosis, ResourceRef, SuggestedFix
from agents.toolsets.gitops import fixes
from agents.toolsets.gitops.edit import apply_change, diff_hash, unified_diff
from agents.toolsets.gitops.fieldpath import FieldPathError, is_remove, normalize_path
from agents.toolsets.gitops.locate import Location, ObjectNotInRepo, locate
from agents.toolsets.gitops.tree import RepoTree
from agents.toolsets.gitops.validate import DEFAULT_KUBERNETES_VERSION, ValidationProblem, validate_change

Risk = Literal["low", "medium", "high"]
# (pattern on "Kind field_path", risk, what it does to the running system). First match wins.
_RISKS: list[tuple[str, Risk, str]] = [
    (r"^PersistentVolumeClaim .*spec\.", "high", "a claim's spec is immutable: the PVC is deleted and recreated, "
                                                 "and data on the old volume is not carried over"),
    (r"\.resources\.|^ResourceQuota ", "low", "pods restart with the new resources in a rolling update"),
    (r"Probe\.", "low", "pods restart with the corrected probe in a rolling update"),
    (r"\.image$|^Kustomization images", "medium", "rolls out a different image version"),
    (r"^Service .*spec\.(selector|ports)", "medium", "changes which pods and ports receive traffic"),
    (r"(tolerations|nodeSelector|affinity)", "medium", "pods may be scheduled onto different nodes"),
    (r"(\.env|^ConfigMap |^Secret )", "medium", "changes the application's configuration"),
]


# Fields the API server refuses to change on a live object (a PVC's spec, a Job's template, a selector, a
# Pod's spec). A GitOps sync of such a change fails until the object is deleted and created again, so the
# change also asks the controller to do exactly that: Argo CD's Force+Replace sync option, Flux's force.
_IMMUTABLE: list[tuple[str, str]] = [
    ("PersistentVolumeClaim", r"^spec\.(?!resources\.requests)"),
    ("Job", r"^spec\.(template|selector)\b"),
    ("Pod", r"^spec\.(?!.*\.image$)"),
    ("Deployment|StatefulSet|DaemonSet|ReplicaSet", r"^spec\.selector\b"),
]
REPLACE_ANNOTATIONS = {
    "argocd.argoproj.io/sync-options": "Force=true,Replace=true",
    "kustomize.toolkit.fluxcd.io/force": "enabled",
}


def needs_replacement(kind: str, field_path: str) -> bool:
    """Does changing `field_path` of a live `kind` need the object deleted and recreated?"""
    return any(re.fullmatch(kinds, kind) and re.search(path, field_path) for kinds, path in _IMMUTABLE)


class PlanStep(BaseModel):
    file: str
    document: int = 0
    object: ResourceRef  # the live object the change lands on
    object_field: str  # the field on the live object (`...containers[name=web].image`)
    field_path: str  # the field in `file` (`images[name=nginx].newTag` for a kustomization entry)
    old_value: Any = None
    new_value: Any = None
    via: str = ""
    rationale: str
    risk: Risk
    risk_note: str
    rollback: str


class Plan(BaseModel):
    steps: list[PlanStep] = Field(default_factory=list)
    diff: str = ""
    diff_hash: str = ""
    files: dict[str, str] = Field(default_factory=dict, description="Changed files only: path -> new text.")
    problems: list[ValidationProblem] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="Suggested fixes that were not planned, and why.")
    escalate_reason: str | None = None

    @property
    def errors(self) -> list[ValidationProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ready(self) -> bool:
        """A plan a human can be asked to approve: changes, no blocking problem, nothing to escalate."""
        return bool(self.steps) and not self.errors and self.escalate_reason is None


def plan_changes(diagnosis: Diagnosis, repo_tree: Mapping[str, str], *, facts: fixes.FixFacts | None = None,
                 kubernetes_version: str = DEFAULT_KUBERNETES_VERSION) -> Plan:
    if not diagnosis.suggested_fixes:
        why = diagnosis.reason_for_human or diagnosis.root_cause
        return Plan(escalate_reason=f"the {diagnosis.category} diagnosis suggests no manifest change ({why}); "
                                    "a human decides what to do")
    facts = facts or fixes.FixFacts()
    files = dict(repo_tree)
    steps: list[PlanStep] = []
    notes: list[str] = []
    for fix in diagnosis.suggested_fixes:
        for change in _expand(fix, files, facts, notes):
            step = _apply(change, files, notes)
            if step is not None:
                steps.append(step)
    changed = sorted(path for path, text in files.items() if repo_tree.get(path) != text)
    if not steps:
        return Plan(notes=notes, escalate_reason="no change could be planned in the GitOps repo: " + "; ".join(notes))
    diff = "".join(unified_diff(path, repo_tree.get(path, ""), files[path]) for path in changed)
    problems = validate_change(repo_tree, files, changed, kubernetes_version=kubernetes_version)
    return Plan(steps=steps, diff=diff, diff_hash=diff_hash(diff), files={p: files[p] for p in changed},
                problems=problems, notes=notes)


def _expand(fix: SuggestedFix, files: dict[str, str], facts: fixes.FixFacts, notes: list[str]) -> list[SuggestedFix]:
    """The fix with a concrete value (from a template if it had none), plus the changes it implies."""
    path = normalize_path(fix.field_path)
    container = re.search(r"ontainers\[name=([^\]]+)\]", path)
    name = container.group(1) if container else ""
    value = fix.new_value
    if value is None and path.endswith(".resources.limits.memory") and name in facts.memory_peak:
        value = fixes.memory_limit_for_peak(facts.memory_peak[name])
    elif value is None and path.endswith(".image") and name in facts.last_good_image:
        current = _current(files, fix.resource, path)
        value = fixes.image_with_tag(str(current or ""), facts.last_good_image[name])
    elif value is None and (env := re.search(r"^(.*\.env\[name=([^\]]+)\])(\.value)?$", path)):
        entry = fixes.env_from_configmap(env.group(2), _configmap_keys(files, fix.resource.namespace))
        if entry is not None:
            return [fix.model_copy(update={"field_path": env.group(1), "new_value": entry})]
    elif value is None and path.endswith("issuerRef.name") and (issuer := _declared_issuer(files, fix.resource, path)):
        value = issuer
        fix = fix.model_copy(update={"rationale": f"{fix.rationale}; {issuer} is the issuer of that kind the GitOps repo "
                                                  "declares with the closest name"})
    if value is None:
        notes.append(f"{fix.resource} {path}: no concrete value to set ({fix.rationale})")
        return []
    planned = [fix.model_copy(update={"field_path": path, "new_value": value})]
    if needs_replacement(fix.resource.kind, path):
        planned.extend(SuggestedFix(
            resource=fix.resource, field_path=f'metadata.annotations["{annotation}"]', new_value=option,
            rationale=f"{path} cannot change on the live {fix.resource.kind}: the GitOps controller must delete and "
                      "recreate it") for annotation, option in REPLACE_ANNOTATIONS.items())
    if path.endswith(".resources.limits.memory") and isinstance(value, str):
        request_path = path.removesuffix("limits.memory") + "requests.memory"
        request = fixes.memory_request_for(value, _current(files, fix.resource, request_path))
        if request is not None:
            planned.append(SuggestedFix(resource=fix.resource, field_path=request_path, new_value=request,
                                        rationale=f"keep the memory request consistent with the new {value} limit"))
    return planned


def _apply(fix: SuggestedFix, files: dict[str, str], notes: list[str]) -> PlanStep | None:
    try:
        location = locate(RepoTree(files), fix.resource, fix.field_path, fix.new_value)
        edit = apply_change(files[location.file], location.file, location.document, location.field_path,
                            location.new_value)
    except (ObjectNotInRepo, FieldPathError) as exc:
        notes.append(str(exc))
        return None
    if edit.new_text == files[location.file]:
        notes.append(f"{fix.resource} {fix.field_path} is already {fix.new_value!r} in {location.file}")
        return None
    files[location.file] = edit.new_text
    risk, risk_note = _risk(location, fix)
    return PlanStep(file=location.file, document=location.document, object=location.object,
                    object_field=fix.field_path, field_path=location.field_path, old_value=edit.old_value,
                    new_value=location.new_value, via=location.via, rationale=fix.rationale, risk=risk,
                    risk_note=risk_note + _shared_note(location), rollback=_rollback(location, edit.old_value))


def _risk(location: Location, fix: SuggestedFix) -> tuple[Risk, str]:
    subject = "Kustomization images" if location.field_path.startswith("images[") else \
        f"{location.object.kind} {fix.field_path}"
    for pattern, risk, note in _RISKS:
        if re.search(pattern, subject):
            return risk, note
    return "medium", f"changes {fix.field_path} of {location.object}"


def _shared_note(location: Location) -> str:
    if not location.shared_with:
        return ""
    return f"; {location.file} is also rendered by {', '.join(location.shared_with)}, which changes too"


def _rollback(location: Location, old_value: Any) -> str:
    if is_remove(location.new_value):
        what = f"restores {location.field_path} = {old_value!r}"
    elif old_value is None:
        what = f"removes {location.field_path} again"
    else:
        what = f"restores {location.field_path} = {old_value!r}"
    return f"Revert the commit (git revert <sha>): it {what} in {location.file}, and the GitOps sync applies it."


def _current(files: Mapping[str, str], resource: ResourceRef, path: str) -> Any:
    try:
        return locate(RepoTree(files), resource, path, None).current_value
    except (ObjectNotInRepo, FieldPathError):
        return None


def _configmap_keys(files: Mapping[str, str], namespace: str | None) -> dict[str, list[str]]:
    return {item.name: list((item.obj.get("data") or {}).keys())
            for item in RepoTree(files).render()
            if item.kind == "ConfigMap" and (namespace is None or item.namespace in (namespace, None))}


def _declared_issuer(files: Mapping[str, str], resource: ResourceRef, path: str) -> str | None:
    """For an issuerRef naming an issuer that does not exist: the issuer of the referenced kind (ClusterIssuer:
    any; Issuer: the same namespace) the repo declares whose name is closest to the current one."""
    current = _current(files, resource, path)
    if not isinstance(current, str):
        return None
    kind = _current(files, resource, path.removesuffix(".name") + ".kind") or "Issuer"
    declared = [item.name for item in RepoTree(files).render() if item.kind == kind
                and (kind == "ClusterIssuer" or item.namespace in (resource.namespace, None))]
    return fixes.closest_declared(current, declared)
