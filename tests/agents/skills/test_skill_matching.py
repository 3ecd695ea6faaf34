"""Which skill an incident goes to first, from alert names, labels and observed pod reasons."""

from __future__ import annotations

import pytest

from agents.skills.loader import SkillSet, load_skills


@pytest.fixture(scope="module")
def skills() -> SkillSet:
    return load_skills()


CASES = [
    ("crashloop-with-oom", [{"alertname": "KubePodCrashLooping"}], {"CrashLoopBackOff", "OOMKilled"}, "oom_killed"),
    ("crashloop-start-error", [{"alertname": "KubePodCrashLooping"}], {"CrashLoopBackOff", "StartError"}, "crashloop"),
    ("not-ready-image-pull", [{"alertname": "KubePodNotReady"}], {"Pending", "ImagePullBackOff"}, "image_pull"),
    ("not-ready-unschedulable", [{"alertname": "KubePodNotReady"}], {"Pending", "Unschedulable", "FailedScheduling"},
     "unschedulable"),
    ("node-alert", [{"alertname": "KubeNodeNotReady", "node": "worker-2"}], set(), "node_not_ready"),
    ("pvc-filling", [{"alertname": "KubePersistentVolumeFillingUp", "persistentvolumeclaim": "data-0"}], set(), "storage"),
    ("quota", [{"alertname": "KubeQuotaFullyUsed", "resourcequota": "compute"}], set(), "quota"),
    ("service-no-endpoints", [{"alertname": "KubeServiceNoEndpoints", "service": "web"}], set(), "service_unreachable"),
    ("cert-not-ready", [{"alertname": "CertManagerCertNotReady", "certificate": "shop-tls"}], set(), "certificate_expiry"),
    ("probe-unhealthy", [{"alertname": "KubePodNotReady"}], {"Running", "Unhealthy"}, "probes"),
    ("run-as-non-root", [{"alertname": "KubePodNotReady"}], {"CreateContainerConfigError"}, "missing_config"),
]


@pytest.mark.parametrize(("alerts", "reasons", "first"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_best_skill(skills: SkillSet, alerts: list[dict[str, str]], reasons: set[str], first: str) -> None:
    assert skills.match(alerts, reasons)[0].name == first


def test_unknown_alert_matches_no_domain_skill(skills: SkillSet) -> None:
    assert skills.match([{"alertname": "SomethingCustom", "team": "x"}], set()) == []
