"""The tables behind grouping, priority and the lifecycle: pure functions, one case per row."""

from __future__ import annotations

import pytest

from app.incidents.errors import IllegalTransition
from app.incidents.grouping import ResourceRef, family_of, owner_from_pod_name, owner_of_replicaset
from app.incidents.priority import priority_for
from app.incidents.status import check_transition


@pytest.mark.parametrize(("pod", "owner"), [
    ("backend-api-7f9c6d5b8-k2x4q", ResourceRef("Deployment", "backend-api")),
    ("web-5d9c8-bcdfg", ResourceRef("Deployment", "web")),
    ("redis-0", ResourceRef("StatefulSet", "redis")),
    ("kafka-broker-12", ResourceRef("StatefulSet", "kafka-broker")),
    ("backup-28374650-abcde", ResourceRef("Pod", "backup-28374650-abcde")),  # a CronJob's Job pod
    ("node-exporter-x7k2q", ResourceRef("Pod", "node-exporter-x7k2q")),  # DaemonSet: not inferable
    ("standalone", ResourceRef("Pod", "standalone")),
], ids=lambda v: str(v))
def test_pod_name_fallback(pod: str, owner: ResourceRef) -> None:
    assert owner_from_pod_name(pod) == owner


def test_replicaset_belongs_to_its_deployment() -> None:
    assert owner_of_replicaset("checkout-7f9c6d5b8") == ResourceRef("Deployment", "checkout")


@pytest.mark.parametrize(("alertname", "family"), [
    ("KubePodCrashLooping", "workload"), ("KubeDeploymentRolloutStuck", "workload"),
    ("KubeContainerWaiting", "workload"), ("BackOff", "workload"), ("KubeJobFailed", "job"),
    ("KubeNodeNotReady", "node"), ("NodeNotReady", "node"), ("SomethingCustom", "SomethingCustom"),
])
def test_alert_families(alertname: str, family: str) -> None:
    assert family_of(alertname) == family


@pytest.mark.parametrize(("severity", "namespace", "recent", "priority"), [
    pytest.param("critical", "shop", 0, 1, id="critical-P1"),
    pytest.param("warning", "shop", 0, 2, id="warning-P2"),
    pytest.param("info", "shop", 0, 3, id="info-P3"),
    pytest.param(None, "shop", 0, 3, id="no-severity-P3"),
    pytest.param("warning", "monitoring", 0, 1, id="system-namespace-raises"),
    pytest.param("warning", "ingress-nginx", 0, 1, id="ingress-raises"),
    pytest.param("critical", "kube-system", 0, 0, id="critical-kube-system-P0"),
    pytest.param("warning", "shop", 2, 1, id="third-in-24h-raises"),
    pytest.param("warning", "shop", 1, 2, id="second-in-24h-does-not"),
    pytest.param("critical", "kube-system", 5, 0, id="never-below-P0"),
])
def test_priority(severity: str | None, namespace: str, recent: int, priority: int) -> None:
    assert priority_for(severity, namespace, recent) == priority


@pytest.mark.parametrize(("current", "target", "legal"), [
    ("open", "diagnosing", True), ("diagnosing", "awaiting_approval", True), ("awaiting_approval", "remediating", True),
    ("remediating", "resolved", True), ("open", "cancelled", True), ("diagnosing", "failed", True),
    ("open", "remediating", False), ("resolved", "open", False), ("cancelled", "diagnosing", False),
    ("failed", "resolved", False),
    ("remediating", "verifying", True), ("verifying", "resolved", True), ("verifying", "reopened", True),
    ("reopened", "diagnosing", True), ("reopened", "awaiting_human", True), ("awaiting_human", "verifying", True),
    ("diagnosing", "verifying", False), ("verifying", "remediating", False), ("resolved", "reopened", False),
    ("open", "reopened", False),
])
def test_transitions(current: str, target: str, legal: bool) -> None:
    if legal:
        check_transition(1, current, target)
    else:
        with pytest.raises(IllegalTransition, match=f"incident 1 cannot go from {current} to {target}"):
            check_transition(1, current, target)
