"""Conformance: for every shipped scenario with a GitOps fix, locate + edit of its canonical change
touches exactly `expect.fix.file`, keeps every comment, changes only the necessary lines, and
renders to the fixed object. A new scenario is covered with no new test code."""

from __future__ import annotations

import re

import pytest

from agents.toolsets.gitops import REMOVE, RepoTree, apply_change, changed_lines, locate, unified_diff, validate_change
from sim.scenario import load_scenario, shipped_scenarios
from tests.support.gitops import canonical_changes

WITH_FIX = [path for path in shipped_scenarios() if (load_scenario(path).expect.fix or None) is not None]

# (removed, added) lines of the diff, per scenario. Each is what a careful human would write.
CHANGED_LINES = {
    "configmap_volume_missing": (1, 1),
    "crashloop_command_not_found": (1, 1),       # command[0] inside a flow list: the one line
    "crashloop_missing_env": (0, 2),             # a new env item: `- name:` + `value:`
    "hpa_missing_cpu_requests": (0, 1),
    "image_pull_bad_tag": (1, 1),                # the kustomization's newTag, not the Deployment
    "ingress_tls_secret_missing": (1, 1),
    "ingress_class_missing": (1, 1),
    "init_container_crashloop": (1, 1),          # the trailing comma inside the literal block
    "job_backoff_limit_exceeded": (1, 1),
    "liveness_probe_wrong_port": (1, 1),
    "namespace_quota_exceeded": (1, 1),
    "networkpolicy_blocks_backend": (0, 3),      # one more peer: `- podSelector:`, `matchLabels:`, the label
    "nodeselector_no_matching_node": (3, 1),     # the overlay patch's nodeSelector goes: `spec: {}`
    "oom_memory_hog": (1, 1),
    "oomkilled_limit_too_low": (1, 1),
    "pending_insufficient_memory": (1, 1),       # the overlay patch, not the base
    "private_registry_pull_secret_missing": (1, 1),
    "pvc_storageclass_not_found": (1, 1),
    "rbac_missing_list_verb": (0, 6),            # one more rule: apiGroups, resources and verbs, block style
    "readiness_probe_wrong_path": (1, 1),
    "rollout_stuck_bad_release": (1, 1),
    "run_as_nonroot_image_root": (0, 1),
    "secret_ref_missing": (1, 1),
    "service_selector_mismatch": (1, 1),         # a map value merged key by key, not rewritten
    "service_targetport_mismatch": (1, 1),       # document 1 of a multi-document file
    "two_faults_one_namespace": (1, 1),          # the first fault's limit; the second has its own PR
    "untolerated_taint": (0, 5),                 # a new list of one toleration
    "upstream_service_selects_nothing": (1, 1),  # the selector's key and value, one line
    "hpa_scale_target_missing": (1, 1),
    "hpa_target_too_low_maxed_out": (7, 1),      # the memory metric goes, the CPU target changes
    "liveness_kills_slow_start": (0, 6),         # a new startupProbe
    "pod_anti_affinity_unsatisfiable": (1, 1),
    "pvc_disk_full": (1, 1),
    "rwo_multi_attach_rolling_update": (0, 2),   # a new `strategy: {type: Recreate}`
}


def _comments(text: str) -> list[str]:
    return [m.group(0).strip() for line in text.splitlines() if (m := re.search(r"#.*$", line))]


@pytest.mark.parametrize("path", WITH_FIX, ids=lambda p: p.stem)
def test_canonical_fix_changes_only_the_expected_file(path) -> None:
    scenario = load_scenario(path)
    fix = scenario.expect.fix
    files = dict(scenario.gitops.files)
    for ref, field, value in canonical_changes(scenario):
        location = locate(RepoTree(files), ref, field, value)
        assert location.file == fix.file, f"{field} located in {location.file} ({location.via})"
        edit = apply_change(files[location.file], location.file, location.document, location.field_path,
                            location.new_value)
        files[location.file] = edit.new_text

    original = scenario.gitops.files
    assert [p for p in files if files[p] != original[p]] == [fix.file]
    assert _comments(files[fix.file]) == _comments(original[fix.file]), "a comment was lost or moved"
    diff = unified_diff(fix.file, original[fix.file], files[fix.file])
    assert diff.startswith(f"--- a/{fix.file}\n+++ b/{fix.file}\n")
    assert changed_lines(diff) == CHANGED_LINES[scenario.name], diff

    # What the cluster would get now carries the fix.
    for ref, field, value in canonical_changes(scenario):
        now = locate(RepoTree(files), ref, field, None).current_value
        assert now == (None if value == REMOVE else value)
    assert [p for p in validate_change(original, files, [fix.file]) if p.severity == "error"] == []


def test_every_scenario_with_a_fix_has_a_line_count() -> None:
    assert sorted(p.stem for p in WITH_FIX) == sorted(CHANGED_LINES)
