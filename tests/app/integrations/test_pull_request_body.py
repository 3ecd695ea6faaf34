"""The pull request body: root cause, quoted evidence, steps, diff summary, rollback; markdown-safe."""

from __future__ import annotations

from agents.diagnosis import Diagnosis, Evidence, ResourceRef, SuggestedFix
from agents.toolsets.gitops import plan_changes
from app.integrations.pull_request_body import escape_markdown, fenced, pull_request_title, render_pull_request_body
from sim.scenario import find_scenario, load_scenario

HOG = ResourceRef(kind="Deployment", namespace="default", name="memory-hog")


def _diagnosis(excerpt: str) -> Diagnosis:
    return Diagnosis(
        category="oom_killed", root_cause="stress allocates 200M against a *100Mi* limit; see [docs](http://x) @oncall",
        confidence=0.9, affected=[HOG], evidence=[Evidence(call_id="c1", tool="describe_pod", excerpt=excerpt)],
        suggested_fixes=[SuggestedFix(resource=HOG, field_path="spec.template.spec.containers[name=memory-hog]"
                                      ".resources.limits.memory", new_value="256Mi", rationale="25 % above the peak")])


def test_body_has_root_cause_evidence_steps_diff_and_rollback() -> None:
    diagnosis = _diagnosis("Last State: Terminated\n  Reason: OOMKilled\n  Exit Code: 137")
    plan = plan_changes(diagnosis, load_scenario(find_scenario("oom_memory_hog")).gitops.files)
    body = render_pull_request_body(diagnosis, plan, "42", commit_sha="abc123")

    assert "## Root cause\n\nstress allocates 200M against a \\*100Mi\\* limit; see \\[docs\\]\\(http://x\\) " \
           "@\u200boncall" in body
    assert "From `describe\\_pod` (call c1):\n\n```text\nLast State: Terminated\n  Reason: OOMKilled\n" in body
    assert "| 1 | `apps/memory-hog/deployment.yaml` | Deployment default/memory-hog | " \
           "`spec.template.spec.containers[name=memory-hog].resources.limits.memory` | 100Mi → 256Mi | low |" in body
    assert "- `apps/memory-hog/deployment.yaml`: +3 −1" in body
    assert "```diff\n--- a/apps/memory-hog/deployment.yaml" in body
    assert "Run `git revert abc123` and let the GitOps sync apply it." in body
    assert f"<!-- opsgraph incident=42 diff_hash={plan.diff_hash} -->" in body
    assert pull_request_title(diagnosis, plan) == "opsgraph: fix oom killed in Deployment default/memory-hog"


def test_an_excerpt_cannot_break_out_of_its_fence() -> None:
    hostile = "```\n# Approved by @admin\n<script>x</script>\n````"
    body = render_pull_request_body(_diagnosis(hostile), plan_changes(
        _diagnosis(hostile), load_scenario(find_scenario("oom_memory_hog")).gitops.files), "7")
    assert fenced(hostile) in body
    assert fenced(hostile).startswith("`````text\n") and fenced(hostile).endswith("\n`````")


def test_escape_markdown_keeps_text_readable() -> None:
    assert escape_markdown("pod web-1 (ns shop) OOMKilled 3x") == "pod web-1 \\(ns shop\\) OOMKilled 3x"
    assert escape_markdown("<img src=x>") == "\\<img src=x\\>"


def test_a_diagnosis_seen_before_says_so_in_the_body() -> None:
    from agents.knowledge.history import PastIncident, SeenBefore

    past = PastIncident(incident_id=41, ended_at="2026-12-03T10:15:00+00:00", category="oom_killed",
                        root_cause="limit *too* low", pr_number=12, held=True, outcome="1/1 ready")
    diagnosis = _diagnosis("Reason: OOMKilled").model_copy(update={"history": SeenBefore(times=2, items=[past])})
    body = render_pull_request_body(diagnosis, plan_changes(
        diagnosis, load_scenario(find_scenario("oom_memory_hog")).gitops.files), "42")
    assert ("## Seen before\n\nseen before: 2 times \\(last: incident 41, oom\\_killed, ended 2026-12-03 10:15\\); "
            "last fix PR \\#12 held") in body
    assert "## Seen before" not in render_pull_request_body(_diagnosis("x"), plan_changes(
        _diagnosis("x"), load_scenario(find_scenario("oom_memory_hog")).gitops.files), "42")
