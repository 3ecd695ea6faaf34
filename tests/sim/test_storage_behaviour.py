"""Storage as the attach-detach controller and the kubelet handle it: ReadWriteOnce attachment across nodes,
volume usage and expansion, ephemeral-storage limits and node DiskPressure evictions. Read with the real
kubectl and the client; each fix goes through the API.

Upstream wording (kubernetes/kubernetes):
- pkg/controller/volume/attachdetach/reconciler/reconciler.go: FailedAttachVolume
  `Multi-Attach error for volume %q Volume is already used by pod(s) %s`
- pkg/kubelet/eviction/helpers.go: Reason = "Evicted";
  podEphemeralStorageMessageFmt = "Pod ephemeral local storage usage exceeds the total limit of containers %s. ";
  nodeLowMessageFmt = "The node was low on resource: %v. " + "Threshold quantity: %v, available: %v. ";
  containerMessageFmt = "Container %s was using %s, request is %s, has larger consumption of %v. "
- eviction_manager.go: node-pressure evictions add the DisruptionTarget condition, reason TerminationByKubelet
- docs (persistent-volumes#expanding-persistent-volumes-claims): a bound claim grows when its class sets
  allowVolumeExpansion
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes import client as k8s

from tests.sim.sim_cases import condition, deployment, ready, served

CSI_CLASS = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "disk-rwo"},
             "provisioner": "pd.csi.storage.gke.io", "allowVolumeExpansion": True}


def _claim(name: str, size: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "shop"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "disk-rwo",
                     "resources": {"requests": {"storage": size}}}}


def _with_claim(name: str, claim: str, image: str, **extra: Any) -> dict[str, Any]:
    return deployment(name, "shop", image=image,
                      pod={"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]},
                      container={"volumeMounts": [{"name": "data", "mountPath": "/data"}],
                                 "resources": {"requests": {"cpu": "100m"}}}, **extra)


def test_a_rolling_update_with_a_readwriteonce_disk_hits_multi_attach_until_recreate(tmp_path: Path) -> None:
    app = _with_claim("wiki", "wiki-data", "registry.local/wiki:2.0")
    world = {"previous_revisions": [{"deployment": "wiki", "namespace": "shop", "patch": {"spec": {"template": {
        "spec": {"containers": [{"name": "wiki", "image": "registry.local/wiki:1.0"}]}}}}}]}
    with served(tmp_path, objects=[CSI_CLASS, _claim("wiki-data", "5Gi"), app], world=world) as case:
        pods = case.pods("shop", "wiki")
        old = next(p for p in pods if ready(p))
        new = next(p for p in pods if not ready(p))
        assert old["spec"]["nodeName"] != new["spec"]["nodeName"]
        volume = case.store.get("PersistentVolumeClaim", "shop", "wiki-data")["spec"]["volumeName"]
        message = f'Multi-Attach error for volume "{volume}" Volume is already used by pod(s) {old["metadata"]["name"]}'
        described = " ".join(case.kubectl("describe", "pod", "-n", "shop", new["metadata"]["name"]).split())
        assert "FailedAttachVolume" in described and message in described and "attachdetach-controller" in described
        assert "ContainerCreating" in case.kubectl("get", "pods", "-n", "shop")
        status = k8s.CoreV1Api(case.client()).read_namespaced_pod(new["metadata"]["name"], "shop").status
        assert status.container_statuses[0].state.waiting.reason == "ContainerCreating"
        case.kubectl("patch", "deployment", "wiki", "-n", "shop", "--type", "merge", "-p",
                     '{"spec": {"strategy": {"type": "Recreate", "rollingUpdate": null}}}')
        pods = case.pods("shop", "wiki")
        assert len(pods) == 1 and ready(pods[0]) and pods[0]["spec"]["containers"][0]["image"] == "registry.local/wiki:2.0"


def test_same_node_pods_share_a_readwriteonce_disk(tmp_path: Path) -> None:
    nodes = [{"name": "only-node"}]
    app = _with_claim("cache", "cache-data", "registry.local/cache:1.0", replicas=2)
    with served(tmp_path, nodes=nodes, objects=[CSI_CLASS, _claim("cache-data", "1Gi"), app]) as case:
        assert all(ready(p) for p in case.pods("shop", "cache"))
        assert not [e for e in case.store.list("Event") if e["reason"] == "FailedAttachVolume"]


def test_a_full_volume_fails_writes_until_the_claim_is_expanded(tmp_path: Path) -> None:
    world = {"volumes": [{"namespace": "shop", "claim": "spool", "used": "98Mi"}],
             "images": {"registry.local/batcher": {"writes": [
                 {"path": "/data/out", "size": "10Mi", "log": "write /data/out/part-7: no space left on device"}]}}}
    app = _with_claim("batcher", "spool", "registry.local/batcher:1.0", strategy={"type": "Recreate"})
    with served(tmp_path, objects=[CSI_CLASS, _claim("spool", "100Mi"), app], world=world) as case:
        (pod,) = case.pods("shop", "batcher")
        name = pod["metadata"]["name"]
        assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert "no space left on device" in case.kubectl("logs", "-n", "shop", name, "--previous")
        case.kubectl("patch", "pvc", "spool", "-n", "shop", "-p", '{"spec": {"resources": {"requests": {"storage": "1Gi"}}}}')
        claim = case.kubectl_json("get", "pvc", "spool", "-n", "shop")
        assert claim["status"]["capacity"]["storage"] == "1Gi"
        assert case.store.get("PersistentVolume", None, claim["spec"]["volumeName"])["spec"]["capacity"]["storage"] == "1Gi"
        assert {"Resizing", "FileSystemResizeSuccessful"} <= {r for r, _ in case.events("spool")}
        (pod,) = case.pods("shop", "batcher")
        assert pod["status"]["phase"] == "Running" and not pod["status"]["containerStatuses"][0]["state"].get("waiting")


def test_ephemeral_storage_past_the_limit_is_evicted_until_the_limit_covers_it(tmp_path: Path) -> None:
    world = {"fault_age": "20m", "images": {"registry.local/render": {"ephemeral_storage": "2Gi", "ephemeral_fill": "5m"}}}
    app = deployment("render", "shop", image="registry.local/render:1.0",
                     container={"resources": {"limits": {"ephemeral-storage": "1Gi"}}})
    with served(tmp_path, objects=[app], world=world) as case:
        evicted = [p for p in case.pods("shop", "render") if p["status"].get("reason") == "Evicted"]
        assert len(evicted) >= 3  # one every 2.5 minutes, each replaced at its eviction
        message = "Pod ephemeral local storage usage exceeds the total limit of containers 1Gi. "
        first = evicted[0]
        assert (first["status"]["phase"], first["status"]["message"]) == ("Failed", message)
        terminated = first["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (terminated["reason"], terminated["exitCode"]) == ("ContainerStatusUnknown", 137)
        assert ("Evicted", message) in case.events(first["metadata"]["name"])
        # kubectl's STATUS column prefers the containers' terminated reason (kubernetes#105467)
        assert "ContainerStatusUnknown" in case.kubectl("get", "pods", "-n", "shop")
        described = case.kubectl("describe", "pod", "-n", "shop", first["metadata"]["name"])
        assert "Reason:" in described and "Evicted" in described and message.strip() in described
        case.kubectl("patch", "deployment", "render", "-n", "shop", "--type", "json", "-p",
                     '[{"op": "replace", "path": "/spec/template/spec/containers/0/resources/limits/ephemeral-storage",'
                     ' "value": "4Gi"}]')
        running = [p for p in case.pods("shop", "render") if p["status"]["phase"] == "Running"]
        assert len(running) == 1 and ready(running[0])
        assert running[0]["spec"]["containers"][0]["resources"]["limits"]["ephemeral-storage"] == "4Gi"


def test_node_disk_pressure_evicts_the_pod_writing_most_beyond_its_request(tmp_path: Path) -> None:
    nodes = [{"name": "n1", "disk_used": "80Gi"}]
    world = {"images": {"registry.local/chatty": {"ephemeral_storage": "15Gi"}}}
    objects = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"},
                "spec": {"containers": [{"name": "app", "image": image}]}}
               for name, image in (("chatty", "registry.local/chatty:1"), ("quiet", "nginx:1.27"))]
    with served(tmp_path, nodes=nodes, objects=objects, world=world) as case:
        chatty = k8s.CoreV1Api(case.client()).read_namespaced_pod("chatty", "shop").status
        assert (chatty.phase, chatty.reason) == ("Failed", "Evicted")
        assert chatty.message == (
            "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 5242880Ki. "
            "Container app was using 15Gi, request is 0, has larger consumption of ephemeral-storage. ")
        target = next(c for c in chatty.conditions if c.type == "DisruptionTarget")
        assert (target.status, target.reason) == ("True", "TerminationByKubelet")
        quiet = case.store.get("Pod", "shop", "quiet")
        assert ready(quiet)
        # The eviction freed the disk: 80Gi of 100Gi used, above the 10 % threshold again.
        assert condition(case.store.get("Node", None, "n1"), "DiskPressure")["status"] == "False"


