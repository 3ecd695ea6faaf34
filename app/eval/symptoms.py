"""Is the scenario's own symptom gone? Each firing alert's condition, evaluated on the cluster's state the
way the kubernetes-mixin rule that fires it reads kube-state-metrics, scoped to the workload the alert is
about (its pod's owner, or the named Deployment/StatefulSet/DaemonSet/Job/...).

The evaluator judges a fix by this, not by "the pods are Ready": a fix that leaves the alert's condition
true has not fixed the fault, and one that clears it while breaking something else is caught by the
namespace health check beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.health import failing_requests
from sim.store import ObjectStore

Obj = dict[str, Any]

# Alert label → the kind it names (kube-state-metrics' label names).
_NAMED_KINDS = (("deployment", "Deployment"), ("statefulset", "StatefulSet"), ("daemonset", "DaemonSet"),
                ("job_name", "Job"), ("cronjob", "CronJob"), ("horizontalpodautoscaler", "HorizontalPodAutoscaler"),
                ("persistentvolumeclaim", "PersistentVolumeClaim"), ("service", "Service"), ("node", "Node"),
                ("resourcequota", "ResourceQuota"), ("certificate", "Certificate"), ("ingress", "Ingress"),
                ("name", None))


@dataclass(frozen=True)
class Scope:
    namespace: str | None
    kind: str | None
    name: str | None


def _condition(obj: Obj, kind: str) -> str | None:
    return next((c.get("status") for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind),
                None)


def owned_by(store: ObjectStore, pod: Obj, kind: str, name: str) -> bool:
    """Does `pod` belong to workload kind/name (through a ReplicaSet or Job when needed)?"""
    frontier = [pod]
    for _ in range(3):
        nxt = []
        for obj in frontier:
            for ref in obj["metadata"].get("ownerReferences") or []:
                if ref.get("kind") == kind and ref.get("name") == name:
                    return True
                owner = store.get(ref.get("kind", ""), obj["metadata"].get("namespace"), ref.get("name", ""))
                if owner is not None:
                    nxt.append(owner)
        frontier = nxt
    return kind == "Pod" and pod["metadata"]["name"] == name


def _workload_of(store: ObjectStore, pod: Obj) -> tuple[str, str]:
    obj = pod
    for _ in range(3):
        refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")]
        if not refs:
            break
        owner = store.get(refs[0]["kind"], obj["metadata"].get("namespace"), refs[0]["name"])
        if owner is None:
            return refs[0]["kind"], refs[0]["name"]
        obj = owner
    return obj["kind"], obj["metadata"]["name"]


def alert_scope(store: ObjectStore, labels: dict[str, str], fallback: Scope) -> Scope:
    """What the alert is about, read before the fix: a pod label is folded into its workload (a fix replaces
    the pod, not the workload)."""
    namespace = labels.get("namespace") or fallback.namespace
    if pod_name := labels.get("pod"):
        pod = store.get("Pod", namespace, pod_name)
        if pod is not None:
            kind, name = _workload_of(store, pod)
            return Scope(namespace, kind, name)
    for label, kind in _NAMED_KINDS:
        if labels.get(label) and kind is not None:
            return Scope(None if kind == "Node" else namespace, kind, labels[label])
    return Scope(namespace, fallback.kind, fallback.name)


def _pods(store: ObjectStore, scope: Scope) -> list[Obj]:
    pods = store.list("Pod", scope.namespace)
    if scope.kind in (None, "Namespace") or scope.name is None:
        return pods
    return [p for p in pods if owned_by(store, p, scope.kind, scope.name)]


def _statuses(pod: Obj, init: bool = True) -> list[Obj]:
    status = pod.get("status") or {}
    return list(status.get("containerStatuses") or []) + (list(status.get("initContainerStatuses") or []) if init else [])


def _waiting(pod: Obj) -> list[str]:
    return [((s.get("state") or {}).get("waiting") or {}).get("reason", "") for s in _statuses(pod)
            if (s.get("state") or {}).get("waiting")]


def _ready(pod: Obj) -> bool:
    return _condition(pod, "Ready") == "True"


def _live(pods: list[Obj]) -> list[Obj]:
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def _get(store: ObjectStore, scope: Scope, kind: str) -> Obj | None:
    if scope.kind != kind or scope.name is None:
        return None
    return store.get(kind, scope.namespace, scope.name)


def _crash_looping(store: ObjectStore, scope: Scope) -> list[str]:
    return [f"pod {p['metadata']['name']} is in CrashLoopBackOff" for p in _live(_pods(store, scope))
            if "CrashLoopBackOff" in _waiting(p)]


def _not_ready(store: ObjectStore, scope: Scope) -> list[str]:
    return [f"pod {p['metadata']['name']} is not ready ({(p.get('status') or {}).get('phase')})"
            for p in _live(_pods(store, scope))
            if (p.get("status") or {}).get("phase") != "Succeeded" and not _ready(p)]


def _container_waiting(store: ObjectStore, scope: Scope) -> list[str]:
    return [f"pod {p['metadata']['name']} has a container waiting ({', '.join(sorted(set(_waiting(p))))})"
            for p in _live(_pods(store, scope)) if _waiting(p)]


def _replicas(store: ObjectStore, scope: Scope) -> list[str]:
    problems = []
    for kind in ("Deployment", "StatefulSet"):
        obj = _get(store, scope, kind)
        if obj is None:
            continue
        want = (obj.get("spec") or {}).get("replicas", 1)
        status = obj.get("status") or {}
        have = status.get("availableReplicas" if kind == "Deployment" else "readyReplicas", 0) or 0
        if have != want:
            problems.append(f"{kind.lower()} {scope.name}: {have}/{want} replicas available")
    obj = _get(store, scope, "DaemonSet")
    if obj is not None:
        status = obj.get("status") or {}
        if status.get("numberReady", 0) != status.get("desiredNumberScheduled", 0):
            problems.append(f"daemonset {scope.name}: {status.get('numberReady', 0)}/"
                            f"{status.get('desiredNumberScheduled', 0)} ready")
    return problems or ([] if scope.kind in ("Deployment", "StatefulSet", "DaemonSet") else _not_ready(store, scope))


def _rollout_stuck(store: ObjectStore, scope: Scope) -> list[str]:
    obj = _get(store, scope, "Deployment")
    if obj is None:
        return _replicas(store, scope)
    problems = _replicas(store, scope)
    status = obj.get("status") or {}
    want = (obj.get("spec") or {}).get("replicas", 1)
    if _condition(obj, "Progressing") == "False" or status.get("updatedReplicas", 0) != want:
        problems.append(f"deployment {scope.name}: rollout not complete ({status.get('updatedReplicas', 0)}/{want} updated)")
    return problems


def _job_failed(store: ObjectStore, scope: Scope) -> list[str]:
    obj = _get(store, scope, "Job")
    if obj is None:
        return []
    return [f"job {scope.name} failed"] if _condition(obj, "Failed") == "True" else []


def _job_not_completed(store: ObjectStore, scope: Scope) -> list[str]:
    obj = _get(store, scope, "Job")
    if obj is None:
        return []
    return [] if _condition(obj, "Complete") == "True" else [f"job {scope.name} has not completed"]


def _hpa(store: ObjectStore, scope: Scope) -> list[str]:
    obj = _get(store, scope, "HorizontalPodAutoscaler")
    if obj is None:
        return []
    return [f"hpa {scope.name}: {c.get('type')} is False ({c.get('reason')})"
            for c in (obj.get("status") or {}).get("conditions") or []
            if c.get("type") in ("AbleToScale", "ScalingActive") and c.get("status") == "False"]


def _hpa_maxed_out(store: ObjectStore, scope: Scope) -> list[str]:
    """kubernetes-mixin KubeHpaMaxedOut: status.currentReplicas == spec.maxReplicas."""
    obj = _get(store, scope, "HorizontalPodAutoscaler")
    if obj is None:
        return []
    current = int((obj.get("status") or {}).get("currentReplicas") or 0)
    maximum = int((obj.get("spec") or {}).get("maxReplicas") or 0)
    return [f"hpa {scope.name}: at maxReplicas ({current}/{maximum})"] if maximum and current >= maximum else []


def _claim_users(store: ObjectStore, scope: Scope) -> list[str]:
    """KubePersistentVolumeFillingUp reads kubelet_volume_stats, which the store does not hold: judged by the
    pods that mount the claim (a full volume shows as their failing writes) until metrics expose the stats."""
    pods = [p for p in store.list("Pod", scope.namespace) if any(
        (v.get("persistentVolumeClaim") or {}).get("claimName") == scope.name for v in p["spec"].get("volumes") or [])]
    return [f"pod {p['metadata']['name']} (mounts {scope.name}) is not Ready" for p in _live(pods) if not _ready(p)]


def _node(store: ObjectStore, scope: Scope) -> list[str]:
    obj = _get(store, scope, "Node")
    if obj is None:
        return []
    return [] if _condition(obj, "Ready") == "True" else [f"node {scope.name} is not Ready"]


def _certificate(store: ObjectStore, scope: Scope) -> list[str]:
    certs = [_get(store, scope, "Certificate")] if scope.kind == "Certificate" else store.list("Certificate", scope.namespace)
    return [f"certificate {c['metadata']['name']} is not Ready" for c in certs
            if c is not None and _condition(c, "Ready") != "True"]


def _no_endpoints(store: ObjectStore, scope: Scope) -> list[str]:
    services = [_get(store, scope, "Service")] if scope.kind == "Service" else store.list("Service", scope.namespace)
    problems = []
    for svc in services:
        if svc is None or not (svc.get("spec") or {}).get("selector"):
            continue
        endpoints = store.get("Endpoints", svc["metadata"]["namespace"], svc["metadata"]["name"]) or {}
        if not any(s.get("addresses") for s in endpoints.get("subsets") or []):
            problems.append(f"service {svc['metadata']['name']} has no ready endpoints")
    return problems


def _pvc(store: ObjectStore, scope: Scope) -> list[str]:
    claims = [_get(store, scope, "PersistentVolumeClaim")] if scope.kind == "PersistentVolumeClaim" \
        else store.list("PersistentVolumeClaim", scope.namespace)
    return [f"pvc {c['metadata']['name']} is {(c.get('status') or {}).get('phase')}" for c in claims
            if c is not None and (c.get("status") or {}).get("phase") != "Bound"]


def _ingress_unserved(store: ObjectStore, scope: Scope) -> list[str]:
    """A blackbox probe of an Ingress's host fails while no controller has given the Ingress an address."""
    ingresses = [_get(store, scope, "Ingress")] if scope.kind == "Ingress" else store.list("Ingress", scope.namespace)
    return [f"ingress {i['metadata']['name']} has no address (no controller serves it)" for i in ingresses
            if i is not None and not ((i.get("status") or {}).get("loadBalancer") or {}).get("ingress")]


Condition = Callable[[ObjectStore, Scope], list[str]]

# The kubernetes-mixin's (and cert-manager's) alerts, each read as the condition its rule tests.
CONDITIONS: dict[str, Condition] = {
    "KubePodCrashLooping": _crash_looping,
    "KubePodNotReady": _not_ready,
    "KubeContainerWaiting": _container_waiting,
    "KubeDeploymentReplicasMismatch": _replicas,
    "KubeStatefulSetReplicasMismatch": _replicas,
    "KubeDaemonSetRolloutStuck": _replicas,
    "KubeDaemonSetNotScheduled": _replicas,
    "KubeDeploymentRolloutStuck": _rollout_stuck,
    "KubeDeploymentGenerationMismatch": _rollout_stuck,
    "KubeStatefulSetUpdateNotRolledOut": _replicas,
    "KubeJobFailed": _job_failed,
    "KubeJobNotCompleted": _job_not_completed,
    "KubeHpaReplicasMismatch": _hpa,
    "KubeHpaScalingInactive": _hpa,
    "KubeHpaUnableToScale": _hpa,  # custom: kube_horizontalpodautoscaler_status_condition{condition="AbleToScale",status="false"}
    "KubeHpaMaxedOut": _hpa_maxed_out,
    "KubeNodeNotReady": _node,
    "KubeNodeUnreachable": _node,
    "CertManagerCertNotReady": _certificate,
    "KubeServiceNoEndpoints": _no_endpoints,
    "KubePersistentVolumeClaimPending": _pvc,
    "KubePersistentVolumeFillingUp": _claim_users,
    "BlackboxProbeFailed": _ingress_unserved,  # the blackbox exporter's probe_success == 0, for an Ingress's host
}


def firing(alerts: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [dict(a.get("labels") or {}) for a in alerts if a.get("status", "firing") == "firing"]


def remaining_symptoms(store: ObjectStore, read_log: Callable[..., str], alerts: list[dict[str, str]],
                       scopes: list[Scope]) -> list[str]:
    """One sentence per firing alert whose condition still holds. An alert the table does not know (a team's
    own, like HighRequestErrorRate) is judged by what it is about: the requests clients make in its namespace
    succeed, and its workload's pods are ready."""
    found: list[str] = []
    for labels, scope in zip(alerts, scopes, strict=True):
        condition = CONDITIONS.get(labels.get("alertname", ""))
        if condition is not None:
            problems = condition(store, scope)
        else:
            problems = failing_requests(store, read_log, scope.namespace) + _not_ready(store, scope)
        found.extend(f"{labels.get('alertname')}: {p}" for p in problems)
    return sorted(set(found))
