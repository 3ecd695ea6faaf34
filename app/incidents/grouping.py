"""How alerts become incidents: which resource an alert is about, its family, and the join key.

An incident is one broken thing, not one firing alert. Several alerts describe the same fault
(a crash-looping Deployment fires KubePodCrashLooping per pod, KubeContainerWaiting,
KubeDeploymentReplicasMismatch and, later, KubeDeploymentRolloutStuck), so alerts join one
incident when they share cluster, namespace, resource and *family*:

| family      | alerts (Alertmanager `alertname`) and Warning-event reasons                         |
| ----------- | ------------------------------------------------------------------------------------ |
| workload    | KubePodCrashLooping, KubePodNotReady, KubeContainerWaiting, KubeDeploymentReplicas- |
|             | Mismatch, KubeDeploymentRolloutStuck, KubeDeploymentGenerationMismatch,              |
|             | KubeStatefulSet{ReplicasMismatch,GenerationMismatch,UpdateNotRolledOut},             |
|             | KubeDaemonSet{RolloutStuck,NotScheduled,MisScheduled}, KubePodOOMKilled,             |
|             | KubeContainerOOMKilled; events BackOff, Failed, Unhealthy, OOMKilling, FailedMount,  |
|             | FailedScheduling, FailedCreate, FailedAttachVolume                                   |
| job         | KubeJobFailed, KubeJobNotCompleted, KubeJobCompletion; event BackoffLimitExceeded    |
| autoscaling | KubeHpaMaxedOut, KubeHpaReplicasMismatch                                             |
| storage     | KubePersistentVolume{FillingUp,InodesFillingUp,Errors}; event ProvisioningFailed     |
| node        | KubeNodeNotReady, KubeNodeUnreachable, KubeNodeReadinessFlapping, KubeletDown,       |
|             | KubeNodePressure; event NodeNotReady                                                 |
| capacity    | CPUThrottlingHigh, KubeCPUOvercommit, KubeMemoryOvercommit, KubeQuotaExceeded,       |
|             | KubeQuotaFullyUsed, KubeQuotaAlmostFull                                              |

Any other alert is its own family (its alertname), so unknown alerts never merge by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

_FAMILY_MEMBERS: dict[str, tuple[str, ...]] = {
    "workload": (
        "KubePodCrashLooping", "KubePodNotReady", "KubeContainerWaiting", "KubeDeploymentReplicasMismatch",
        "KubeDeploymentRolloutStuck", "KubeDeploymentGenerationMismatch", "KubeStatefulSetReplicasMismatch",
        "KubeStatefulSetGenerationMismatch", "KubeStatefulSetUpdateNotRolledOut", "KubeDaemonSetRolloutStuck",
        "KubeDaemonSetNotScheduled", "KubeDaemonSetMisScheduled", "KubePodOOMKilled", "KubeContainerOOMKilled",
        "BackOff", "Failed", "Unhealthy", "OOMKilling", "FailedMount", "FailedScheduling", "FailedCreate",
        "FailedAttachVolume",
    ),
    "job": ("KubeJobFailed", "KubeJobNotCompleted", "KubeJobCompletion", "BackoffLimitExceeded"),
    "autoscaling": ("KubeHpaMaxedOut", "KubeHpaReplicasMismatch"),
    "storage": (
        "KubePersistentVolumeFillingUp", "KubePersistentVolumeInodesFillingUp", "KubePersistentVolumeErrors",
        "ProvisioningFailed",
    ),
    "node": (
        "KubeNodeNotReady", "KubeNodeUnreachable", "KubeNodeReadinessFlapping", "KubeletDown", "KubeNodePressure",
        "NodeNotReady",
    ),
    "capacity": (
        "CPUThrottlingHigh", "KubeCPUOvercommit", "KubeMemoryOvercommit", "KubeQuotaExceeded",
        "KubeQuotaFullyUsed", "KubeQuotaAlmostFull",
    ),
}
FAMILIES: dict[str, str] = {name: family for family, names in _FAMILY_MEMBERS.items() for name in names}

# Labels naming the resource an alert is about, most specific owner first. `service` is absent on
# purpose: in kube-prometheus it names the scrape target (kube-state-metrics), not the workload.
_RESOURCE_LABELS: tuple[tuple[str, str], ...] = (
    ("deployment", "Deployment"),
    ("statefulset", "StatefulSet"),
    ("daemonset", "DaemonSet"),
    ("cronjob", "CronJob"),
    ("job_name", "Job"),
    ("horizontalpodautoscaler", "HorizontalPodAutoscaler"),
    ("persistentvolumeclaim", "PersistentVolumeClaim"),
    ("pod", "Pod"),
    ("node", "Node"),
)

# A Deployment's pod: <deployment>-<pod-template-hash, 5-10 chars>-<5 chars>. Both parts come from
# Kubernetes' SafeEncodeString alphabet (no vowels, no 0/1/3); matching any alnum would read the
# DaemonSet pod `node-exporter-x7k2q` as Deployment `node`. An all-digit middle part is a CronJob's
# Job (<cronjob>-<minutes since epoch>), not a template hash.
_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
_DEPLOYMENT_POD = re.compile(
    rf"^(?P<name>[a-z0-9]([-a-z0-9]*[a-z0-9])?)-(?![0-9]+-){_SAFE}{{5,10}}-{_SAFE}{{5}}$")
# A StatefulSet's pod: <statefulset>-<ordinal>.
_STATEFULSET_POD = re.compile(r"^(?P<name>[a-z0-9]([-a-z0-9]*[a-z0-9])?)-(0|[1-9][0-9]*)$")
# A ReplicaSet of a Deployment: <deployment>-<pod-template-hash>.
_REPLICASET = re.compile(rf"^(?P<name>[a-z0-9]([-a-z0-9]*[a-z0-9])?)-{_SAFE}{{5,10}}$")


def family_of(alertname: str) -> str:
    return FAMILIES.get(alertname, alertname)


@dataclass(frozen=True)
class ResourceRef:
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


class WorkloadResolver(Protocol):
    """Maps a pod to the workload that owns it.

    `ClusterOwnerResolver` (app/incidents/owners.py) asks the cluster (ownerReferences: Pod →
    ReplicaSet → Deployment); `PodNameResolver` is its fallback when the cluster cannot answer, and
    the whole answer when lookups are off.
    """

    async def owner_of_pod(self, cluster: str, namespace: str | None, pod: str) -> ResourceRef: ...


class PodNameResolver:
    """Infers the owner from the pod's name, the way the controllers name their pods."""

    async def owner_of_pod(self, cluster: str, namespace: str | None, pod: str) -> ResourceRef:
        return owner_from_pod_name(pod)


def owner_from_pod_name(pod: str) -> ResourceRef:
    if match := _DEPLOYMENT_POD.match(pod):
        return ResourceRef("Deployment", match["name"])
    if match := _STATEFULSET_POD.match(pod):
        return ResourceRef("StatefulSet", match["name"])
    return ResourceRef("Pod", pod)


def owner_of_replicaset(name: str) -> ResourceRef:
    match = _REPLICASET.match(name)
    return ResourceRef("Deployment", match["name"]) if match else ResourceRef("ReplicaSet", name)


async def resource_of(labels: dict[str, str], cluster: str, resolver: WorkloadResolver) -> ResourceRef | None:
    """The resource an alert is about, pods folded into their workload; None for cluster-wide alerts."""
    for label, kind in _RESOURCE_LABELS:
        value = labels.get(label)
        if not value:
            continue
        if kind == "Pod":
            return await resolver.owner_of_pod(cluster, labels.get("namespace"), value)
        return ResourceRef(kind, value)
    return None


def join_key(cluster: str, namespace: str | None, resource: ResourceRef | None, family: str) -> str:
    """Alerts with the same key (inside the join window) are one incident."""
    return "/".join((cluster, namespace or "-", resource.kind if resource else "-",
                     resource.name if resource else "-", family))
