"""StatefulSets (ordinal pods, PVCs from volumeClaimTemplates) and DaemonSets (a pod per eligible node)."""

from __future__ import annotations

import copy

from sim.derive.context import Cluster, Obj
from sim.derive.names import template_hash
from sim.derive.nodes import as_seen_at
from sim.derive.podfactory import create_pod, next_name
from sim.derive.scheduling import matches_node, tolerates
from sim.derive.workloads import _blocked, active, pod_ready

DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def reconcile_statefulset(cluster: Cluster, sts: Obj) -> None:
    meta, spec = sts["metadata"], sts["spec"]
    namespace = meta.get("namespace") or "default"
    replicas = int(spec.get("replicas", 1))
    revision = f"{meta['name']}-{template_hash(spec['template'])[:10]}"
    ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
    pods = {p["metadata"]["name"]: p for p in active(cluster.owned("Pod", sts))}
    for i in range(replicas):
        name = f"{meta['name']}-{i}"
        pod = pods.get(name)
        if pod is not None:
            if pod["metadata"].get("labels", {}).get("controller-revision-hash") != revision and all(
                pod_ready(p) for n, p in pods.items() if n != name
            ):
                cluster.delete("Pod", namespace, name)
                cluster.event(sts, "SuccessfulDelete", f"delete Pod {name} in StatefulSet {meta['name']} successful",
                              component="statefulset-controller")
            if ordered and not pod_ready(pod):
                break
            continue
        extra_volumes = []
        for tmpl in spec.get("volumeClaimTemplates") or []:
            claim = f"{tmpl['metadata']['name']}-{name}"
            extra_volumes.append({"name": tmpl["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim}})
            if cluster.get("PersistentVolumeClaim", namespace, claim) is None:
                pvc = copy.deepcopy(tmpl)
                pvc.update(apiVersion="v1", kind="PersistentVolumeClaim")
                pvc["metadata"] = {"name": claim, "namespace": namespace,
                                   "labels": dict((spec.get("selector") or {}).get("matchLabels") or {})}
                pvc.pop("status", None)
                cluster.create(pvc)
                cluster.event(sts, "SuccessfulCreate",
                              f"create Claim {claim} Pod {name} in StatefulSet {meta['name']} success",
                              component="statefulset-controller")
        template = copy.deepcopy(spec["template"])
        tspec = template.setdefault("spec", {})
        tspec["volumes"] = (tspec.get("volumes") or []) + extra_volumes
        tspec.setdefault("hostname", name)
        if spec.get("serviceName"):
            tspec.setdefault("subdomain", spec["serviceName"])
        labels = {"controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": name,
                  "apps.kubernetes.io/pod-index": str(i)}
        result = create_pod(cluster, sts, template, name, labels)
        if isinstance(result, str):
            _blocked(cluster, sts, f"sts/{meta.get('uid')}", result.replace("Error creating: ", "create Pod "
                     f"{name} in StatefulSet {meta['name']} failed error: ", 1))
            return
        cluster.event(sts, "SuccessfulCreate", f"create Pod {name} in StatefulSet {meta['name']} successful",
                      component="statefulset-controller")
        if ordered:
            break
    for name in list(pods):
        if int(name.rsplit("-", 1)[-1]) >= replicas:
            cluster.delete("Pod", namespace, name)
            cluster.event(sts, "SuccessfulDelete", f"delete Pod {name} in StatefulSet {meta['name']} successful",
                          component="statefulset-controller")


def statefulset_status(cluster: Cluster, sts: Obj) -> None:
    meta, spec = sts["metadata"], sts["spec"]
    revision = f"{meta['name']}-{template_hash(spec['template'])[:10]}"
    pods = active(cluster.owned("Pod", sts))
    ready = sum(1 for p in pods if pod_ready(p))
    updated = sum(1 for p in pods if p["metadata"].get("labels", {}).get("controller-revision-hash") == revision)
    sts["status"] = {
        "observedGeneration": meta.get("generation", 1),
        "replicas": len(pods),
        "readyReplicas": ready,
        "currentReplicas": updated,
        "updatedReplicas": updated,
        "availableReplicas": ready,
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
    }
    sts["status"] = {k: v for k, v in sts["status"].items() if v or k in ("replicas", "observedGeneration")}
    cluster.save(sts)


def _eligible(spec: Obj, node: Obj, running: bool = False) -> bool:
    """Whether the node should run the daemon pod; a pod already `running` there only has to
    tolerate NoExecute taints (the controller's shouldContinueRunning)."""
    tolerations = (spec.get("tolerations") or []) + DAEMON_TOLERATIONS
    if not matches_node(spec, node):
        return False
    effects = ("NoExecute",) if running else ("NoSchedule", "NoExecute")
    return all(tolerates(tolerations, t) for t in node["spec"].get("taints") or [] if t.get("effect") in effects)


def reconcile_daemonset(cluster: Cluster, ds: Obj) -> None:
    meta, spec = ds["metadata"], ds["spec"]
    namespace = meta.get("namespace") or "default"
    revision = template_hash(spec["template"])[:10]
    pods = active(cluster.owned("Pod", ds))
    for node in cluster.list("Node"):
        node_name = node["metadata"]["name"]
        mine = [p for p in pods if p["spec"].get("nodeName") == node_name]
        # Seen as it was when the controller acted: a node that failed later got its pod then.
        seen = as_seen_at(cluster, node, cluster.action_time)
        if not _eligible(spec["template"].get("spec") or {}, seen, running=bool(mine)):
            for p in mine:
                cluster.delete("Pod", namespace, p["metadata"]["name"])
            continue
        for p in mine:
            if p["metadata"].get("labels", {}).get("controller-revision-hash") != revision:
                cluster.delete("Pod", namespace, p["metadata"]["name"])
                cluster.event(ds, "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}",
                              component="daemonset-controller")
                mine = []
        if mine:
            continue
        name = next_name(cluster, namespace, meta["name"])
        template = copy.deepcopy(spec["template"])
        tspec = template.setdefault("spec", {})
        tspec["tolerations"] = (tspec.get("tolerations") or []) + DAEMON_TOLERATIONS
        labels = {"controller-revision-hash": revision, "pod-template-generation": str(meta.get("generation", 1))}
        result = create_pod(cluster, ds, template, name, labels, extra_spec={"nodeName": node_name})
        if isinstance(result, str):
            _blocked(cluster, ds, f"ds/{meta.get('uid')}/{node_name}", result)
            continue
        cluster.event(ds, "SuccessfulCreate", f"Created pod: {name}", component="daemonset-controller")


def daemonset_status(cluster: Cluster, ds: Obj) -> None:
    spec = ds["spec"]
    pods = active(cluster.owned("Pod", ds))
    hosts = {p["spec"].get("nodeName") for p in pods}
    nodes = [n for n in cluster.list("Node")
             if _eligible(spec["template"].get("spec") or {}, n, running=n["metadata"]["name"] in hosts)]
    ready = sum(1 for p in pods if pod_ready(p))
    ds["status"] = {
        "observedGeneration": ds["metadata"].get("generation", 1),
        "desiredNumberScheduled": len(nodes),
        "currentNumberScheduled": len(pods),
        "updatedNumberScheduled": len(pods),
        "numberReady": ready,
        "numberAvailable": ready,
        "numberUnavailable": max(0, len(nodes) - ready),
        "numberMisscheduled": 0,
    }
    ds["status"] = {k: v for k, v in ds["status"].items()
                    if v or k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                  "numberMisscheduled")}
    cluster.save(ds)
