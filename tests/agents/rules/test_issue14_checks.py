"""Table tests for the checks of issue 14: pod anti-affinity, a liveness probe that kills a slow start, a
Multi-Attach during a rollout, local-storage evictions, an HPA whose target is gone or that is pinned at max."""

from __future__ import annotations

import pytest

from agents.rules.facts import LogText
from tests.agents.rules.builders import Case, container, event, facts, obj, pod, status
from tests.agents.rules.check_runner import run_case

ANTI = {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}}
ANTI_MSG = ("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are "
            "available: 3 No preemption victims found for incoming pod.")
SPREAD = {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                         "labelSelector": {"matchLabels": {"app": "web"}}}]}
SPREAD_MSG = ("0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match pod topology spread "
              "constraints. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
              "2 No preemption victims found for incoming pod.")


def _pending(message: str, **spec: object) -> dict[str, object]:
    return pod(phase="Pending", conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                             "message": message}], **spec)


LIVE = {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 15, "periodSeconds": 10,
        "failureThreshold": 3}
SLOW_POD = pod(containers=[container(ports=[{"name": "http", "containerPort": 8080}], livenessProbe=LIVE)],
               statuses=[status(waiting={"reason": "CrashLoopBackOff"}, restarts=9)])
KILLED = [event("Killing", "Container web failed liveness probe, will be restarted", type_="Normal",
                field_path="spec.containers{web}"),
          event("Unhealthy", 'Liveness probe failed: Get "http://10.244.1.5:8080/healthz": dial tcp 10.244.1.5:8080: '
                "connect: connection refused", field_path="spec.containers{web}")]
STARTED = LogText("shop", "web-old-abcde", "web", False, "Started WebApplication in 70.9 seconds (process running for "
                  "71.6)\n", "c-log")
STARTUP = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10, "failureThreshold": 15}

ATTACH = ('Multi-Attach error for volume "pvc-0d1e" Volume is already used by pod(s) web-5f86-g7hbv')
WITH_CLAIM = {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}}]}

SCALE_MSG = 'the HPA controller was unable to get the target\'s current scale: deployments/scale.apps "web" not found'


def _hpa(target: str, conditions: list[dict[str, str]], **status: object) -> dict[str, object]:
    return obj("HorizontalPodAutoscaler", "web", spec={
        "scaleTargetRef": {"kind": "Deployment", "name": target}, "minReplicas": 3, "maxReplicas": 10,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 20}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 30}}}]},
        status={"conditions": conditions, **status})


MAXED = [{"type": "ScalingLimited", "status": "True", "reason": "TooManyReplicas",
          "message": "the desired replica count is more than the maximum replica count"}]
AT_REST = {"currentReplicas": 10, "currentMetrics": [
    {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 30}}},
    {"type": "Resource", "resource": {"name": "memory", "current": {"averageUtilization": 58}}}]}

CASES = [
    Case("anti-affinity-more-replicas-than-nodes", "unschedulable_pod_placement",
         facts(_pending(ANTI_MSG, **ANTI), obj("ReplicaSet", "web-7f9c", meta={"ownerReferences": [
             {"kind": "Deployment", "name": "web", "controller": True}]}), deployment="web"),
         "unschedulable", "Pod/web-7f9c-abcde", "all 3 nodes already run one", ("spec.replicas", 3)),
    Case("anti-affinity-without-the-spec-read-has-no-fix", "unschedulable_pod_placement",
         facts(_pending(ANTI_MSG)), "unschedulable", "Pod/web-7f9c-abcde", "pod anti-affinity keeps the pod off"),
    Case("spread-do-not-schedule-becomes-schedule-anyway", "unschedulable_pod_placement",
         facts(_pending(SPREAD_MSG, **SPREAD)), "unschedulable", "Pod/web-7f9c-abcde", "DoNotSchedule",
         ("spec.topologySpreadConstraints", [{**SPREAD["topologySpreadConstraints"][0],
                                              "whenUnsatisfiable": "ScheduleAnyway"}])),
    Case("insufficient-memory-is-not-placement", "unschedulable_pod_placement",
         facts(_pending("0/3 nodes are available: 3 Insufficient memory.")), None),
    Case("liveness-kills-a-start-that-another-run-timed", "liveness_kills_slow_start",
         facts(SLOW_POD, *KILLED, logs=[STARTED]), "probe_failure", "Pod/web-7f9c-abcde", "needs about 71.6s",
         ("spec.containers[name=web].startupProbe", STARTUP)),
    Case("no-start-time-seen-no-finding", "liveness_kills_slow_start", facts(SLOW_POD, *KILLED), None),
    Case("a-wrong-port-is-not-a-slow-start", "liveness_kills_slow_start",
         facts(pod(containers=[container(ports=[{"containerPort": 80}],
                                         livenessProbe={**LIVE, "httpGet": {"path": "/", "port": 8080}})]),
               *KILLED, logs=[STARTED]), None),
    Case("multi-attach-during-a-rollout-recreates", "volume_multi_attach",
         facts(pod("web-85b8-wszpn", **WITH_CLAIM), event("FailedAttachVolume", ATTACH, name="web-85b8-wszpn"),
               deployment="web"),
         "storage", "Pod/web-85b8-wszpn", "rolls out with RollingUpdate", ("spec.strategy", {"type": "Recreate"})),
    Case("multi-attach-with-another-workload-has-no-fix", "volume_multi_attach",
         facts(pod("api-85b8-wszpn", owner="ReplicaSet/api-85b8", **WITH_CLAIM),
               event("FailedAttachVolume", ATTACH, name="api-85b8-wszpn"), deployment="api"),
         "storage", "Pod/api-85b8-wszpn", "is ReadWriteOnce and attached"),
    Case("evicted-past-its-ephemeral-limit", "evicted_ephemeral_storage",
         facts(obj("Pod", "web-7f9c-abcde", status={"phase": "Failed", "reason": "Evicted", "message":
                   "Pod ephemeral local storage usage exceeds the total limit of containers 1Gi. "})),
         "storage", "Pod/web-7f9c-abcde", "ephemeral-storage limit 1Gi"),
    Case("evicted-for-node-disk-pressure", "evicted_ephemeral_storage",
         facts(obj("Pod", "web-7f9c-abcde", status={"phase": "Failed", "reason": "Evicted", "message":
                   "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 5Ki. "})),
         "storage", "Pod/web-7f9c-abcde", "ran low on disk"),
    Case("evicted-for-memory-is-not-storage", "evicted_ephemeral_storage",
         facts(obj("Pod", "web-7f9c-abcde", status={"phase": "Failed", "reason": "Evicted",
                                                    "message": "The node was low on resource: memory. "})), None),
    Case("hpa-target-renamed", "hpa_target_missing",
         facts(_hpa("web", [{"type": "AbleToScale", "status": "False", "reason": "FailedGetScale", "message": SCALE_MSG}]),
               obj("Deployment", "web-v2"), obj("Deployment", "worker")),
         "autoscaling", "HorizontalPodAutoscaler/web", "web-v2 exists", ("spec.scaleTargetRef.name", "web-v2")),
    Case("hpa-target-gone-without-a-successor-escalates", "hpa_target_missing",
         facts(_hpa("web", [{"type": "AbleToScale", "status": "False", "reason": "FailedGetScale", "message": SCALE_MSG}]),
               obj("Deployment", "worker")), "autoscaling", "HorizontalPodAutoscaler/web", "does not exist"),
    Case("hpa-pinned-at-max-by-low-targets", "hpa_maxed_out", facts(_hpa("web", MAXED, **AT_REST)),
         "autoscaling", "HorizontalPodAutoscaler/web", "held at maxReplicas 10",
         ("spec.metrics", [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                                      "averageUtilization": 70}}}])),
    Case("hpa-within-range-is-fine", "hpa_maxed_out",
         facts(_hpa("web", [{"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange"}])), None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_issue14_check(case: Case) -> None:
    run_case(case)


def test_checks_without_evidence_for_a_value_hand_over() -> None:
    from agents.rules.registry import checks

    for case_id in ("hpa-target-gone-without-a-successor-escalates", "evicted-past-its-ephemeral-limit"):
        case = next(c for c in CASES if c.id == case_id)
        finding = checks()[case.check](case.facts)
        assert finding is not None and finding.escalate and not finding.fixes
