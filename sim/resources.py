"""The resource registry: which group/version/plural the server answers, with what kind and verbs.

One table drives discovery (/api, /apis, resource lists), routing and the kind stored in the
ObjectStore. Two resources are served in a shape other than the stored one: events.k8s.io/v1 events
are the core Events converted on the way out and in, and Secrets are served with every value blanked,
because the sim must never hand secret values to an agent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

ALL_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list")


@dataclass(frozen=True)
class Subresource:
    name: str  # "status", "scale", "log"
    kind: str
    verbs: tuple[str, ...]
    group: str | None = None  # set when the subresource speaks another group's type (Scale)
    version: str | None = None


_STATUS = Subresource("status", "", ("get", "patch", "update"))
_SCALE = Subresource("scale", "Scale", ("get", "patch", "update"), "autoscaling", "v1")


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    store_kind: str = ""  # the kind in the ObjectStore when it differs from `kind`
    singular: str = field(default="")

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def stored_kind(self) -> str:
        return self.store_kind or self.kind

    def subresource(self, name: str) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)


def _rt(group: str, version: str, plural: str, kind: str, namespaced: bool = True, **kw: Any) -> ResourceType:
    return ResourceType(group, version, plural, kind, namespaced, singular=kind.lower(), **kw)


_ALL = ("all",)
_LOG = Subresource("log", "Pod", ("get",))
_EVICTION = Subresource("eviction", "Eviction", ("create",), "policy", "v1")

REGISTRY: tuple[ResourceType, ...] = (
    _rt("", "v1", "namespaces", "Namespace", False, short_names=("ns",), subresources=(_STATUS,)),
    _rt("", "v1", "pods", "Pod", short_names=("po",), categories=_ALL, subresources=(_STATUS, _LOG, _EVICTION)),
    _rt("", "v1", "events", "Event", short_names=("ev",)),
    _rt("", "v1", "nodes", "Node", False, short_names=("no",), subresources=(_STATUS,)),
    _rt("", "v1", "services", "Service", short_names=("svc",), categories=_ALL, subresources=(_STATUS,)),
    _rt("", "v1", "endpoints", "Endpoints", short_names=("ep",)),
    _rt("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    _rt("", "v1", "secrets", "Secret"),
    _rt("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short_names=("pvc",),
        subresources=(_STATUS,)),
    _rt("", "v1", "persistentvolumes", "PersistentVolume", False, short_names=("pv",), subresources=(_STATUS,)),
    _rt("", "v1", "resourcequotas", "ResourceQuota", short_names=("quota",), subresources=(_STATUS,)),
    _rt("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
    _rt("", "v1", "limitranges", "LimitRange", short_names=("limits",)),
    _rt("apps", "v1", "deployments", "Deployment", short_names=("deploy",), categories=_ALL,
        subresources=(_STATUS, _SCALE)),
    _rt("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",), categories=_ALL,
        subresources=(_STATUS, _SCALE)),
    _rt("apps", "v1", "statefulsets", "StatefulSet", short_names=("sts",), categories=_ALL,
        subresources=(_STATUS, _SCALE)),
    _rt("apps", "v1", "daemonsets", "DaemonSet", short_names=("ds",), categories=_ALL, subresources=(_STATUS,)),
    _rt("batch", "v1", "jobs", "Job", categories=_ALL, subresources=(_STATUS,)),
    _rt("batch", "v1", "cronjobs", "CronJob", short_names=("cj",), categories=_ALL, subresources=(_STATUS,)),
    _rt("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short_names=("hpa",),
        categories=_ALL, subresources=(_STATUS,)),
    _rt("networking.k8s.io", "v1", "ingresses", "Ingress", short_names=("ing",), subresources=(_STATUS,)),
    _rt("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short_names=("netpol",)),
    _rt("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    _rt("apps", "v1", "controllerrevisions", "ControllerRevision"),
    _rt("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    _rt("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, short_names=("sc",)),
    _rt("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False),
    _rt("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", False),
    _rt("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short_names=("pdb",),
        subresources=(_STATUS,)),
    _rt("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, short_names=("pc",)),
    _rt("coordination.k8s.io", "v1", "leases", "Lease"),
    _rt("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _rt("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _rt("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _rt("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _rt("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration", False),
    _rt("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration", False),
    _rt("events.k8s.io", "v1", "events", "Event", short_names=("ev",)),
    # Reviews are answered, never stored (sim.rbac).
    _rt("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
        verbs=("create",)),
    _rt("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False, verbs=("create",)),
    # cert-manager's CRDs, served as if installed (their status is derived by sim.derive.certs).
    _rt("cert-manager.io", "v1", "certificates", "Certificate", short_names=("cert", "certs"),
        categories=("cert-manager",), subresources=(_STATUS,)),
    _rt("cert-manager.io", "v1", "certificaterequests", "CertificateRequest", short_names=("cr", "crs"),
        categories=("cert-manager",), subresources=(_STATUS,)),
    _rt("cert-manager.io", "v1", "issuers", "Issuer", categories=("cert-manager",), subresources=(_STATUS,)),
    _rt("cert-manager.io", "v1", "clusterissuers", "ClusterIssuer", False, categories=("cert-manager",),
        subresources=(_STATUS,)),
    _rt("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", verbs=READ_VERBS),
    _rt("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, verbs=READ_VERBS),
)

_BY_PATH: dict[tuple[str, str, str], ResourceType] = {(r.group, r.version, r.plural): r for r in REGISTRY}


def find(group: str, version: str, plural: str) -> ResourceType | None:
    return _BY_PATH.get((group, version, plural))


def by_stored_kind(kind: str) -> ResourceType | None:
    """The canonical resource for a stored kind (the first registered: core Events, not events.k8s.io)."""
    return next((r for r in REGISTRY if r.stored_kind == kind), None)


def group_versions() -> dict[str, list[str]]:
    """Groups in registry order (core first) with their versions; order decides kubectl's preference."""
    out: dict[str, list[str]] = {}
    for r in REGISTRY:
        versions = out.setdefault(r.group, [])
        if r.version not in versions:
            versions.append(r.version)
    return out


# -- discovery documents ---------------------------------------------------------------------------
def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_doc(group: str, versions: list[str]) -> Obj:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def api_group_list() -> Obj:
    groups = [_group_doc(g, vs) for g, vs in group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str) -> Obj | None:
    versions = group_versions().get(group)
    if not group or versions is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, versions)}


def api_resource_list(group: str, version: str) -> Obj | None:
    members = [r for r in REGISTRY if r.group == group and r.version == version]
    if not members:
        return None
    resources: list[Obj] = []
    for r in members:
        entry: Obj = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": sorted(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        resources.append(entry)
        for sub in r.subresources:
            sub_entry: Obj = {
                "name": f"{r.plural}/{sub.name}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": sub.kind or r.kind,
                "verbs": list(sub.verbs),
            }
            if sub.group is not None:
                sub_entry.update(group=sub.group, version=sub.version)
            resources.append(sub_entry)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def aggregated_discovery(legacy: bool) -> Obj:
    """apidiscovery.k8s.io/v2 APIGroupDiscoveryList for /api (legacy=True) or /apis: the whole
    discovery in one document, which saves kubectl a request per group-version."""
    items: list[Obj] = []
    for group, versions in group_versions().items():
        if (group == "") != legacy:
            continue
        listed = []
        for version in versions:
            resources = []
            for r in (r for r in REGISTRY if r.group == group and r.version == version):
                entry: Obj = {
                    "resource": r.plural,
                    "responseKind": {"group": group, "version": version, "kind": r.kind},
                    "scope": "Namespaced" if r.namespaced else "Cluster",
                    "singularResource": r.singular,
                    "verbs": sorted(r.verbs),
                }
                if r.short_names:
                    entry["shortNames"] = list(r.short_names)
                if r.categories:
                    entry["categories"] = list(r.categories)
                if r.subresources:
                    entry["subresources"] = [{
                        "subresource": sub.name,
                        "responseKind": {"group": group if sub.group is None else sub.group,
                                         "version": version if sub.version is None else sub.version,
                                         "kind": sub.kind or r.kind},
                        "verbs": list(sub.verbs),
                    } for sub in r.subresources]
                resources.append(entry)
            listed.append({"version": version, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": group} if group else {}, "versions": listed})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": items}


# -- wire shapes -----------------------------------------------------------------------------------
def to_wire(rt: ResourceType, obj: Obj, redact: bool = True) -> Obj:
    """The stored object as this resource serves it. Takes ownership of `obj` (callers pass copies).
    `redact=False` is only for patching, where the patch must apply to the real values."""
    if rt.stored_kind == "Secret" and redact:
        obj = redact_secret(obj)
    if rt.group == "events.k8s.io":
        return core_event_to_events_v1(obj)
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
    return obj


def from_wire(rt: ResourceType, obj: Obj) -> Obj:
    """A request body as the store keeps it."""
    if rt.group == "events.k8s.io":
        return events_v1_to_core_event(obj)
    return obj


def redact_secret(obj: Obj) -> Obj:
    """Keys stay visible (they are evidence: 'key password not found'); values never leave the sim."""
    if isinstance(obj.get("data"), dict):
        obj["data"] = {key: "" for key in obj["data"]}
    obj.pop("stringData", None)
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    # kubectl apply copies the whole manifest, values included, into this annotation.
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    return obj


_CORE_TO_V1 = {
    "involvedObject": "regarding",
    "related": "related",
    "message": "note",
    "reason": "reason",
    "type": "type",
    "action": "action",
    "eventTime": "eventTime",
    "reportingInstance": "reportingInstance",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
    "series": "series",
}


def core_event_to_events_v1(event: Obj) -> Obj:
    """core/v1 Event -> events.k8s.io/v1 Event, following the apiserver's conversion functions."""
    out: Obj = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": event.get("metadata", {})}
    for core_name, v1_name in _CORE_TO_V1.items():
        if event.get(core_name) not in (None, "", {}):
            out[v1_name] = event[core_name]
    controller = event.get("reportingComponent") or (event.get("source") or {}).get("component")
    if controller:
        out["reportingController"] = controller
    if "reportingInstance" not in out and (event.get("source") or {}).get("host"):
        out["reportingInstance"] = event["source"]["host"]
    # Real events.k8s.io objects always carry eventTime; old-style events only had timestamps.
    out.setdefault("eventTime", event.get("lastTimestamp") or event.get("firstTimestamp"))
    return out


def events_v1_to_core_event(event: Obj) -> Obj:
    out: Obj = {"apiVersion": "v1", "kind": "Event", "metadata": event.get("metadata", {})}
    for core_name, v1_name in _CORE_TO_V1.items():
        if event.get(v1_name) not in (None, "", {}):
            out[core_name] = event[v1_name]
    if event.get("reportingController"):
        out["reportingComponent"] = event["reportingController"]
    return out


# -- OpenAPI v3, just enough for kubectl ---------------------------------------------------------------
# kubectl apply/create validate by asking OpenAPI v3 whether the server takes ?fieldValidation= on
# PATCH for the kind; when it does, kubectl leaves validation to the server and needs no schemas.
# So each group-version document lists one PATCH operation per resource carrying that parameter.
def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_index() -> Obj:
    paths = {}
    for group, versions in group_versions().items():
        for version in versions:
            path = _gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash=sim-{group or 'core'}-{version}"}
    return {"paths": paths}


def openapi_v3_document(group: str, version: str) -> Obj | None:
    members = [r for r in REGISTRY if r.group == group and r.version == version]
    if not members:
        return None
    param = {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}}
    paths: Obj = {}
    for r in members:
        scope = "namespaces/{namespace}/" if r.namespaced else ""
        patch = {
            "operationId": f"patch{r.kind}",
            "parameters": [param],
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": r.kind},
        }
        paths[f"/{_gv_path(group, version)}/{scope}{r.plural}/{{name}}"] = {"patch": patch}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.4"}, "paths": paths,
            "components": {"schemas": {}}}
