"""Offline fix templates: pure functions, one table each."""

from __future__ import annotations

import pytest

from agents.toolsets.gitops.fixes import (
    clean_memory,
    closest_declared,
    env_from_configmap,
    image_with_tag,
    memory_limit_for_peak,
    memory_request_for,
)

MI = 2**20


@pytest.mark.parametrize(("peak", "limit"), [
    (201 * MI, "256Mi"),        # oom_memory_hog: 200M of stress → 251Mi with headroom
    (300 * MI, "384Mi"),        # oomkilled_limit_too_low: ~300Mi peak
    (100 * MI, "128Mi"),
    (10 * MI, "64Mi"),          # never below one step
    (700 * MI, "896Mi"),        # 875Mi → 128Mi steps
    (1300 * MI, "2Gi"),         # 1625Mi → 512Mi steps
    (2.5 * 1024 * MI, "3584Mi"),
], ids=["201Mi", "300Mi", "100Mi", "10Mi", "700Mi", "1300Mi", "2.5Gi"])
def test_memory_limit_has_headroom_and_a_clean_size(peak: float, limit: str) -> None:
    assert memory_limit_for_peak(peak) == limit


@pytest.mark.parametrize(("mebibytes", "clean"), [(1, "64Mi"), (64, "64Mi"), (65, "128Mi"), (513, "640Mi"),
                                                  (1024, "1Gi"), (1025, "1536Mi")])
def test_clean_memory_sizes(mebibytes: float, clean: str) -> None:
    assert clean_memory(mebibytes) == clean


@pytest.mark.parametrize(("limit", "current", "expected"), [
    ("256Mi", None, "256Mi"),      # missing: reserve what the pod may use
    ("256Mi", "512Mi", "256Mi"),   # above the new limit: lowered to it
    ("256Mi", "128Mi", None),      # at or below: kept
    ("1Gi", "1Gi", None),
], ids=["missing", "above", "below", "equal"])
def test_memory_request_stays_at_or_below_the_limit(limit: str, current: str | None, expected: str | None) -> None:
    assert memory_request_for(limit, current) == expected


@pytest.mark.parametrize(("current", "last_good", "image"), [
    ("nginx:invalid-tag", "1.27", "nginx:1.27"),
    ("registry:5000/team/app:v2", "v1", "registry:5000/team/app:v1"),
    ("ghcr.io/acme/checkout:v1.8.0", "ghcr.io/acme/checkout:v1.7.3", "ghcr.io/acme/checkout:v1.7.3"),
], ids=["bare-tag", "registry-port", "full-ref"])
def test_last_good_image(current: str, last_good: str, image: str) -> None:
    assert image_with_tag(current, last_good) == image


@pytest.mark.parametrize(("configmaps", "entry"), [
    ({"settings": ["DEPLOY_ENV", "QUEUE_URL"]},
     {"name": "DEPLOY_ENV", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "DEPLOY_ENV"}}}),
    ({"b": ["DEPLOY_ENV"], "a": ["DEPLOY_ENV"]},
     {"name": "DEPLOY_ENV", "valueFrom": {"configMapKeyRef": {"name": "a", "key": "DEPLOY_ENV"}}}),
    ({"settings": ["QUEUE_URL"]}, None),
], ids=["found", "first-by-name", "absent"])
def test_missing_env_references_an_existing_configmap_key(configmaps: dict[str, list[str]], entry: dict | None) -> None:
    assert env_from_configmap("DEPLOY_ENV", configmaps) == entry


@pytest.mark.parametrize(("current", "declared", "expected"), [
    ("letsencrypt-prod", ["letsencrypt-production", "selfsigned"], "letsencrypt-production"),
    ("letsencrypt-prod", ["selfsigned", "letsencrypt-prod"], None),   # the only close name is the broken one
    ("corp-ca", ["letsencrypt-production"], None),                    # nothing close: a human chooses
], ids=["close", "only-itself", "nothing-close"])
def test_closest_declared_name(current: str, declared: list[str], expected: str | None) -> None:
    assert closest_declared(current, declared) == expected
