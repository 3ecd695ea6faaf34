"""Where each kind lives in the API: one table drives paths for get/list and kind name resolution.

A static table instead of discovery: no extra round trips per call, and a kind outside it is refused
with the list of kinds the tools know.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindInfo:
    kind: str
    group: str  # "" for the core group
    version: str
    plural: str
    namespaced: bool = True
    aliases: tuple[str, ...] = ()

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


KINDS: tuple[KindInfo, ...] = (
    KindInfo("Namespace", "", "v1", "namespaces", False, ("ns",)),
    KindInfo("Pod", "", "v1", "pods", True, ("po",)),
    KindInfo("Event", "", "v1", "events", True, ("ev",)),
    KindInfo("Node", "", "v1", "nodes", False, ("no",)),
    KindInfo("Service", "", "v1", "services", True, ("svc",)),
    KindInfo("Endpoints", "", "v1", "endpoints", True, ("ep",)),
    KindInfo("ConfigMap", "", "v1", "configmaps", True, ("cm",)),
    KindInfo("Secret", "", "v1", "secrets", True),
    KindInfo("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims", True, ("pvc",)),
    KindInfo("PersistentVolume", "", "v1", "persistentvolumes", False, ("pv",)),
    KindInfo("ResourceQuota", "", "v1", "resourcequotas", True, ("quota",)),
    KindInfo("ServiceAccount", "", "v1", "serviceaccounts", True, ("sa",)),
    KindInfo("LimitRange", "", "v1", "limitranges", True, ("limits",)),
    KindInfo("Deployment", "apps", "v1", "deployments", True, ("deploy",)),
    KindInfo("ReplicaSet", "apps", "v1", "replicasets", True, ("rs",)),
    KindInfo("StatefulSet", "apps", "v1", "statefulsets", True, ("sts",)),
    KindInfo("DaemonSet", "apps", "v1", "daemonsets", True, ("ds",)),
    KindInfo("ControllerRevision", "apps", "v1", "controllerrevisions", True),
    KindInfo("Job", "batch", "v1", "jobs", True),
    KindInfo("CronJob", "batch", "v1", "cronjobs", True, ("cj",)),
    KindInfo("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers", True, ("hpa",)),
    KindInfo("Ingress", "networking.k8s.io", "v1", "ingresses", True, ("ing",)),
    KindInfo("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", True, ("netpol",)),
    KindInfo("IngressClass", "networking.k8s.io", "v1", "ingressclasses", False),
    KindInfo("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices", True),
    KindInfo("StorageClass", "storage.k8s.io", "v1", "storageclasses", False, ("sc",)),
    KindInfo("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets", True, ("pdb",)),
    KindInfo("PriorityClass", "scheduling.k8s.io", "v1", "priorityclasses", False, ("pc",)),
    KindInfo("Role", "rbac.authorization.k8s.io", "v1", "roles", True),
    KindInfo("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings", True),
    KindInfo("ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", False),
    KindInfo("ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    KindInfo("ValidatingWebhookConfiguration", "admissionregistration.k8s.io", "v1",
             "validatingwebhookconfigurations", False),
    KindInfo("MutatingWebhookConfiguration", "admissionregistration.k8s.io", "v1",
             "mutatingwebhookconfigurations", False),
    KindInfo("PodMetrics", "metrics.k8s.io", "v1beta1", "pods", True),
    KindInfo("NodeMetrics", "metrics.k8s.io", "v1beta1", "nodes", False),
)

_BY_NAME: dict[str, KindInfo] = {}
for _info in KINDS:
    for _alias in (_info.kind, _info.plural, _info.kind + "s", *_info.aliases):
        _BY_NAME.setdefault(_alias.lower(), _info)
_BY_NAME["pods"] = _BY_NAME["pod"]  # metrics' "pods" plural must not shadow the core kind


class UnknownKind(LookupError):
    pass


def resolve_kind(name: str) -> KindInfo:
    """"Pod", "pods", "po", "deploy", "PVC" -> the kind's entry; an unknown kind lists the known ones."""
    info = _BY_NAME.get(name.lower())
    if info is None:
        known = ", ".join(k.kind for k in KINDS if k.group != "metrics.k8s.io")
        raise UnknownKind(f"unknown kind '{name}'; kinds these tools read: {known}")
    return info
