"""PersistentVolumeClaims: bind through a StorageClass's provisioner, or stay Pending with the real event.

A claim without storageClassName uses the default class; `storageClassName: ""` only binds to an
existing PV. A missing class gives `storageclass.storage.k8s.io "fast-ssd" not found`; a provisioner
that `world.provisioners` says fails gives its error. WaitForFirstConsumer classes bind once a pod
that uses the claim exists.
"""

from __future__ import annotations

from sim.derive.context import Cluster, Obj
from sim.derive.names import uid as make_uid
from sim.quantity import QuantityError, to_bytes

DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
# Provisioners whose volumes are node-local directories: nothing is attached, so no attach-detach controller.
LOCAL_PROVISIONERS = ("rancher.io/local-path", "kubernetes.io/no-provisioner")


def default_storage_class(cluster: Cluster) -> Obj | None:
    for sc in cluster.list("StorageClass"):
        if (sc["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true":
            return sc
    return None


def _consumed(cluster: Cluster, pvc: Obj) -> bool:
    name = pvc["metadata"]["name"]
    return any(
        (v.get("persistentVolumeClaim") or {}).get("claimName") == name
        for p in cluster.list("Pod", pvc["metadata"].get("namespace"))
        for v in p["spec"].get("volumes") or []
    )


def derive_claims(cluster: Cluster) -> None:
    for pvc in cluster.list("PersistentVolumeClaim"):
        meta, spec = pvc["metadata"], pvc.setdefault("spec", {})
        if (pvc.get("status") or {}).get("phase") == "Bound":
            _expand(cluster, pvc)
            continue
        spec.setdefault("volumeMode", "Filesystem")
        class_name = spec.get("storageClassName")
        if class_name is None:
            default = default_storage_class(cluster)
            if default is not None:
                spec["storageClassName"] = class_name = default["metadata"]["name"]
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        pvc["status"] = {"phase": "Pending"}
        if not class_name:
            cluster.save(pvc)
            if class_name == "":
                cluster.event(pvc, "FailedBinding", "no persistent volumes available for this claim and no storage "
                              "class is set", type_="Warning", component="persistentvolume-controller",
                              count=1, first=cluster.action_time, last=cluster.action_time)
            continue
        sc = cluster.get("StorageClass", None, class_name)
        if sc is None:
            cluster.save(pvc)
            _pending_event(cluster, pvc, f'storageclass.storage.k8s.io "{class_name}" not found')
            continue
        provisioner = sc.get("provisioner", "")
        failure = cluster.scenario.world.provisioners.get(provisioner)
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and not _consumed(cluster, pvc):
            cluster.save(pvc)
            cluster.event(pvc, "WaitForFirstConsumer", "waiting for first consumer to be created before binding",
                          component="persistentvolume-controller", count=1, first=cluster.action_time,
                          last=cluster.action_time)
            continue
        if failure is not None and failure.error:
            cluster.save(pvc)
            _pending_event(cluster, pvc, failure.error, component=provisioner)
            continue
        pv_name = f"pvc-{meta.get('uid') or make_uid(meta['name'])}"
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
                "storageClassName": class_name,
                "volumeMode": "Filesystem",
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": meta["name"],
                             "namespace": meta.get("namespace"), "uid": meta.get("uid")},
            },
            "status": {"phase": "Bound"},
        }
        if provisioner in LOCAL_PROVISIONERS:
            pv["spec"]["hostPath"] = {"path": f"/var/local-path-provisioner/{pv_name}_{meta.get('namespace')}_{meta['name']}",
                                      "type": "DirectoryOrCreate"}
        else:  # a CSI disk: attached to the node that mounts it
            pv["spec"]["csi"] = {"driver": provisioner, "fsType": "ext4", "volumeHandle": f"projects/sim/disks/{pv_name}"}
        if cluster.get("PersistentVolume", None, pv_name) is None:
            cluster.create(pv)
        spec["volumeName"] = pv_name
        meta.setdefault("annotations", {}).update({"pv.kubernetes.io/bind-completed": "yes",
                                                   "pv.kubernetes.io/bound-by-controller": "yes",
                                                   "volume.kubernetes.io/storage-provisioner": provisioner})
        pvc["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                         "capacity": {"storage": size}}
        cluster.save(pvc)
        cluster.event(pvc, "ProvisioningSucceeded", f"Successfully provisioned volume {pv_name}",
                      component=provisioner or "persistentvolume-controller", count=1,
                      first=cluster.action_time, last=cluster.action_time)


def _pending_event(cluster: Cluster, pvc: Obj, message: str, component: str = "persistentvolume-controller") -> None:
    key = f"pvc/{pvc['metadata'].get('uid')}"
    seen = cluster.memory.blocked.get(key)
    if seen is None or seen[0] != message:
        seen = (message, cluster.action_time, cluster.now)
        cluster.memory.blocked[key] = seen
    count = 1 + int((seen[2] - seen[1]).total_seconds() // 15)
    cluster.event(pvc, "ProvisioningFailed", message, type_="Warning", component=component, count=count,
                  first=seen[1], last=seen[2])


def attach_error(cluster: Cluster, pod: Obj) -> tuple[str | None, list[str]]:
    """The attach-detach controller's Multi-Attach error for a ReadWriteOnce CSI volume that another pod holds
    attached to a different node (pkg/controller/volume/attachdetach/reconciler: "Multi-Attach error for volume
    %q Volume is already used by pod(s) %s"), and the pod volumes that stay unattached."""
    namespace = pod["metadata"].get("namespace")
    node = pod["spec"].get("nodeName")
    failed: list[str] = []
    first: str | None = None
    for volume in pod["spec"].get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        pvc = cluster.get("PersistentVolumeClaim", namespace, claim) if claim else None
        pv_name = ((pvc or {}).get("spec") or {}).get("volumeName")
        pv = cluster.get("PersistentVolume", None, pv_name) if pv_name else None
        if pv is None or "csi" not in pv["spec"] or (pv["spec"].get("accessModes") or []) != ["ReadWriteOnce"]:
            continue
        holders = [other for other in _users(cluster, namespace, claim)
                   if other["metadata"]["uid"] != pod["metadata"].get("uid") and other["spec"].get("nodeName") != node
                   and _earlier(other, pod)]
        if holders:
            failed.append(volume["name"])
            names = ", ".join(h["metadata"]["name"] for h in holders)
            first = first or f'Multi-Attach error for volume "{pv_name}" Volume is already used by pod(s) {names}'
    return first, failed


def _users(cluster: Cluster, namespace: str | None, claim: str) -> list[Obj]:
    """Scheduled pods that mount the claim and still hold its attachment (not finished; a deleting pod holds
    it until it is gone)."""
    return [p for p in cluster.list("Pod", namespace) if p["spec"].get("nodeName")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim for v in p["spec"].get("volumes") or [])]


def _earlier(other: Obj, pod: Obj) -> bool:
    """The first pod to mount the volume holds the attachment."""
    def key(p: Obj) -> tuple[str, str]:
        return (p["metadata"].get("creationTimestamp") or "", p["metadata"]["name"])
    return key(other) < key(pod)


def _expand(cluster: Cluster, pvc: Obj) -> None:
    """A bound claim asking for more storage: the CSI external-resizer grows the volume and the kubelet the
    file system, when its StorageClass has allowVolumeExpansion (the API server refuses the request otherwise)."""
    wanted = ((pvc["spec"].get("resources") or {}).get("requests") or {}).get("storage")
    have = ((pvc.get("status") or {}).get("capacity") or {}).get("storage")
    try:
        if wanted is None or have is None or to_bytes(wanted) <= to_bytes(have):
            return
    except QuantityError:
        return
    sc = cluster.get("StorageClass", None, pvc["spec"].get("storageClassName") or "")
    pv = cluster.get("PersistentVolume", None, pvc["spec"].get("volumeName") or "")
    if sc is None or not sc.get("allowVolumeExpansion") or pv is None:
        return
    pv["spec"]["capacity"] = {"storage": wanted}
    cluster.save(pv)
    pvc["status"]["capacity"] = {"storage": wanted}
    cluster.save(pvc)
    name = pv["metadata"]["name"]
    cluster.event(pvc, "Resizing", f"External resizer is resizing volume {name}", component=f"external-resizer {sc.get('provisioner')}",
                  count=1, first=cluster.action_time, last=cluster.action_time)
    cluster.event(pvc, "FileSystemResizeSuccessful", f"MountVolume.NodeExpandVolume succeeded for volume \"{name}\"",
                  component="kubelet", count=1, first=cluster.action_time, last=cluster.action_time)


def volume_stats(cluster: Cluster, namespace: str, claim: str) -> tuple[int, int] | None:
    """(used, capacity) bytes of a bound claim's volume, as the kubelet's volume stats report them
    (kubelet_volume_stats_used_bytes / _capacity_bytes): usage from `world.volumes`, capacity from the claim."""
    pvc = cluster.get("PersistentVolumeClaim", namespace, claim)
    capacity = (((pvc or {}).get("status") or {}).get("capacity") or {}).get("storage")
    if capacity is None:
        return None
    used = next((to_bytes(v.used) for v in cluster.scenario.world.volumes
                 if v.namespace == namespace and v.claim == claim), 0)
    return used, to_bytes(capacity)


def volume_room(cluster: Cluster, pod: Obj, container: Obj, path: str) -> int | None:
    """Free bytes on the PersistentVolumeClaim mounted at (or above) `path` in the container, or None."""
    volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
    for mount in sorted(container.get("volumeMounts") or [], key=lambda m: -len(m.get("mountPath", ""))):
        base = mount.get("mountPath", "").rstrip("/")
        if path != base and not path.startswith(base + "/"):
            continue
        claim = (volumes.get(mount.get("name"), {}).get("persistentVolumeClaim") or {}).get("claimName")
        stats = volume_stats(cluster, pod["metadata"].get("namespace") or "default", claim) if claim else None
        return None if stats is None else max(0, stats[1] - stats[0])
    return None
