"""plan_changes: a Diagnosis in, a validated minimal change (or a reason to escalate) out."""

from __future__ import annotations

import hashlib
import re

from agents.diagnosis import Diagnosis, ResourceRef, SuggestedFix
from agents.toolsets.gitops import FixFacts, Plan, changed_lines, plan_changes
from sim.scenario import find_scenario, load_scenario

HOG = ResourceRef(kind="Deployment", namespace="default", name="memory-hog")
LIMIT = "spec.template.spec.containers[name=memory-hog].resources.limits.memory"


def _files(name: str) -> dict[str, str]:
    return dict(load_scenario(find_scenario(name)).gitops.files)


def _diagnosis(*fixes: SuggestedFix, category: str = "oom_killed", **extra: object) -> Diagnosis:
    return Diagnosis(category=category, root_cause="stress allocates 200M against a 100Mi limit", confidence=0.9,
                     affected=[HOG], suggested_fixes=list(fixes), **extra)


def test_oom_memory_hog_plan_is_one_file_a_minimal_diff_and_keeps_comments() -> None:
    files = _files("oom_memory_hog")
    fix = SuggestedFix(resource=HOG, field_path=LIMIT, new_value="256Mi", rationale="peak ~201Mi; 25 % headroom")
    plan = plan_changes(_diagnosis(fix), files)

    path = "apps/memory-hog/deployment.yaml"
    assert plan.ready, plan.problems
    assert list(plan.files) == [path]
    assert [(s.field_path, s.old_value, s.new_value) for s in plan.steps] == [
        (LIMIT, "100Mi", "256Mi"),
        ("spec.template.spec.containers[name=memory-hog].resources.requests.memory", None, "256Mi"),
    ]
    assert changed_lines(plan.diff) == (1, 3)
    assert "+              memory: 256Mi  # TODO: sized before the 200M test profile\n" in plan.diff
    assert re.findall(r"#.*", plan.files[path]) == re.findall(r"#.*", files[path])
    assert plan.diff_hash == hashlib.sha256(plan.diff.encode()).hexdigest()
    step = plan.steps[0]
    assert (step.risk, step.object) == ("low", HOG)
    assert step.rollback == ("Revert the commit (git revert <sha>): it restores "
                             f"{LIMIT} = '100Mi' in {path}, and the GitOps sync applies it.")
    # Only the pre-existing untagged image remains, as a warning.
    assert [p.severity for p in plan.problems] == ["warning"]


def test_the_same_inputs_give_the_same_diff_hash() -> None:
    fix = SuggestedFix(resource=HOG, field_path=LIMIT, new_value="256Mi", rationale="r")
    assert plan_changes(_diagnosis(fix), _files("oom_memory_hog")).diff_hash == \
        plan_changes(_diagnosis(fix), _files("oom_memory_hog")).diff_hash


def test_no_concrete_value_uses_the_template_with_observed_peak() -> None:
    fix = SuggestedFix(resource=HOG, field_path=LIMIT.replace("[name=memory-hog]", "[memory-hog]"), new_value=None,
                       rationale="OOMKilled")
    plan = plan_changes(_diagnosis(fix), _files("oom_memory_hog"), facts=FixFacts(memory_peak={"memory-hog": 201 * 2**20}))
    assert plan.steps[0].new_value == "256Mi"


def test_bad_image_rolls_back_to_the_last_tag_that_ran_in_the_kustomization() -> None:
    web = ResourceRef(kind="Deployment", namespace="web", name="web")
    fix = SuggestedFix(resource=web, field_path="spec.template.spec.containers[name=nginx].image", new_value=None,
                       rationale="tag does not exist")
    plan = plan_changes(_diagnosis(fix, category="image_pull"), _files("image_pull_bad_tag"),
                        facts=FixFacts(last_good_image={"nginx": "1.27"}))
    assert plan.ready
    assert [(s.file, s.field_path, s.new_value, s.risk) for s in plan.steps] == \
           [("apps/web/kustomization.yaml", "images[name=nginx].newTag", "1.27", "medium")]


def test_missing_env_references_the_configmap_key_in_the_repo() -> None:
    files = _files("crashloop_missing_env")
    files["apps/payments/configmap.yaml"] += "  DEPLOY_ENV: production\n"
    worker = ResourceRef(kind="Deployment", namespace="payments", name="payment-processing-worker")
    fix = SuggestedFix(resource=worker, field_path="spec.template.spec.containers[name=payment-processing-container]"
                       ".env[name=DEPLOY_ENV].value", new_value=None, rationale="DEPLOY_ENV is undefined")
    plan = plan_changes(_diagnosis(fix, category="missing_config"), files)
    assert plan.ready, plan.problems
    assert "+            - name: DEPLOY_ENV\n+              valueFrom:\n+                configMapKeyRef:\n" \
           "+                  name: payment-settings\n+                  key: DEPLOY_ENV\n" in plan.diff


def test_no_suggested_fix_escalates_instead_of_an_empty_pr() -> None:
    diagnosis = _diagnosis(category="node_failure", needs_human=True, reason_for_human="kubelet stopped on aks-1")
    plan = plan_changes(diagnosis, _files("node_not_ready"))
    assert plan == Plan(escalate_reason="the node_failure diagnosis suggests no manifest change (kubelet stopped "
                                        "on aks-1); a human decides what to do")
    assert not plan.ready


def test_object_not_in_repo_escalates_with_the_reason() -> None:
    ghost = ResourceRef(kind="Deployment", namespace="default", name="ghost")
    plan = plan_changes(_diagnosis(SuggestedFix(resource=ghost, field_path="spec.replicas", new_value=2,
                                                rationale="r")), _files("oom_memory_hog"))
    assert plan.steps == [] and plan.diff == "" and plan.files == {}
    assert plan.escalate_reason is not None
    assert plan.escalate_reason.startswith("no change could be planned in the GitOps repo: Deployment "
                                           "default/ghost is not in the GitOps repo")


def test_a_fix_that_fails_validation_is_not_ready() -> None:
    fix = SuggestedFix(resource=HOG, field_path="spec.template.spec.containers[name=memory-hog].image",
                       new_value="polinux/stress:latest", rationale="r")
    plan = plan_changes(_diagnosis(fix), _files("oom_memory_hog"))
    assert not plan.ready
    assert [p.message for p in plan.errors] == [
        "container memory-hog uses 'polinux/stress:latest'; pin a version instead of :latest"]


def test_an_issuer_that_does_not_exist_is_replaced_by_the_closest_issuer_the_repo_declares() -> None:
    files = _files("ingress_tls_secret_missing")
    cert = ResourceRef(kind="Certificate", namespace="retail", name="storefront-tls")
    fix = SuggestedFix(resource=cert, field_path="spec.issuerRef.name", new_value=None,
                       rationale="ClusterIssuer letsencrypt-prod does not exist")
    plan = plan_changes(_diagnosis(fix, category="certificate"), files)
    assert plan.ready, (plan.escalate_reason, plan.problems)
    assert "-    name: letsencrypt-prod\n+    name: letsencrypt-production\n" in plan.diff
    assert "declares with the closest name" in plan.steps[0].rationale


def test_an_issuer_with_no_close_declared_name_is_left_to_a_human() -> None:
    files = {p: t.replace("letsencrypt-production", "corp-acme") for p, t in _files("ingress_tls_secret_missing").items()}
    cert = ResourceRef(kind="Certificate", namespace="retail", name="storefront-tls")
    fix = SuggestedFix(resource=cert, field_path="spec.issuerRef.name", new_value=None, rationale="issuer missing")
    plan = plan_changes(_diagnosis(fix, category="certificate"), files)
    assert not plan.ready and "no concrete value to set" in (plan.escalate_reason or "")
