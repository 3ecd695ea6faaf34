"""The pull request a reviewer reads: why (root cause, evidence), what (steps, diff), how to undo it.

Rendered from graph state only (Diagnosis + Plan). The inputs are already redacted; what this
adds is markdown safety: evidence excerpts are quoted verbatim in fences longer than any
backtick run inside them, and free text is escaped so a log line cannot inject links, headings,
HTML or @-mentions into the page.
"""

from __future__ import annotations

import re

from agents.diagnosis import Diagnosis
from agents.toolsets.gitops.edit import changed_lines
from agents.toolsets.gitops.plan import Plan

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")
_MAX_EXCERPT = 1_500
_MAX_DIFF = 20_000


def escape_markdown(text: str) -> str:
    """Inline text as literal characters: no emphasis, links, HTML or mentions."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\r", ""))
    escaped = re.sub(r"@(?=\w)", "@\u200b", escaped)  # a zero-width space: shown as @x, pings nobody
    return escaped.replace("\n", " ")


def fenced(text: str, language: str = "text") -> str:
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def pull_request_title(diagnosis: Diagnosis, plan: Plan) -> str:
    target = plan.steps[0].object if plan.steps else (diagnosis.affected[0] if diagnosis.affected else None)
    return f"opsgraph: fix {diagnosis.category.replace('_', ' ')}" + (f" in {target}" if target else "")


def render_pull_request_body(diagnosis: Diagnosis, plan: Plan, incident_id: str, *,
                             commit_sha: str | None = None) -> str:
    parts = [
        f"Proposed by opsgraph for incident **{escape_markdown(str(incident_id))}** "
        f"(category `{diagnosis.category}`, confidence {diagnosis.confidence:.0%}, source {diagnosis.source}). "
        "A human approved this exact diff before it was pushed.",
        "## Root cause", escape_markdown(diagnosis.root_cause),
    ]
    if diagnosis.history is not None:  # incident memory: earlier incidents and whether their fixes held
        parts += ["## Seen before", escape_markdown(diagnosis.history.line())]
    if diagnosis.evidence:
        parts.append("## Evidence")
        for item in diagnosis.evidence:
            excerpt = item.excerpt if len(item.excerpt) <= _MAX_EXCERPT else item.excerpt[:_MAX_EXCERPT] + "\n[…]"
            parts.append(f"From `{escape_markdown(item.tool)}` (call {escape_markdown(item.call_id)}):\n\n"
                         + fenced(excerpt))
    parts += ["## Changes", _steps_table(plan)]
    parts += [f"- **{escape_markdown(s.object_field)}**: {escape_markdown(s.rationale)} "
              f"Risk {s.risk}: {escape_markdown(s.risk_note)}." for s in plan.steps]
    parts += ["## Diff summary", _diff_summary(plan)]
    diff = plan.diff if len(plan.diff) <= _MAX_DIFF else plan.diff[:_MAX_DIFF] + "\n[diff truncated]\n"
    parts.append(f"<details><summary>Full diff</summary>\n\n{fenced(diff, 'diff')}\n\n</details>")
    warnings = [p for p in plan.problems if p.severity == "warning"]
    if warnings:
        parts += ["## Validation notes"] + [f"- {escape_markdown(str(p))}" for p in warnings]
    revert = f"git revert {commit_sha}" if commit_sha else "git revert <merge commit of this pull request>"
    parts += ["## Rollback", f"Run `{revert}` and let the GitOps sync apply it. Step by step:"]
    parts += [f"- {escape_markdown(s.rollback.replace('<sha>', commit_sha or '<sha>'))}" for s in plan.steps]
    parts.append(f"<!-- opsgraph incident={incident_id} diff_hash={plan.diff_hash} -->")
    return "\n\n".join(parts) + "\n"


def _steps_table(plan: Plan) -> str:
    rows = ["| # | File | Object | Field | Change | Risk |", "|---|---|---|---|---|---|"]
    for number, step in enumerate(plan.steps, 1):
        change = f"{_cell(step.old_value)} → {_cell(step.new_value)}"
        rows.append(f"| {number} | `{step.file}` | {escape_markdown(str(step.object))} | "
                    f"`{step.field_path}` | {change} | {step.risk} |")
    return "\n".join(rows)


def _cell(value: object) -> str:
    text = "(unset)" if value is None else str(value)
    return escape_markdown(text if len(text) <= 60 else text[:57] + "...")


def _diff_summary(plan: Plan) -> str:
    lines = []
    for path in sorted(plan.files):
        section = re.search(rf"^--- a/{re.escape(path)}\n(.*?)(?=^--- a/|\Z)", plan.diff, re.S | re.M)
        removed, added = changed_lines(section.group(0)) if section else (0, 0)
        lines.append(f"- `{path}`: +{added} −{removed}")
    return "\n".join(lines)
