"""The controller half of the simulated cluster: seed a scenario into the store, derive everything else.

`reconcile()` plays the parts of the control plane and the kubelets in one deterministic pass:
namespaces, nodes, volume binding, then workload controllers and pods until nothing changes
(ReplicaSets need pod readiness, pods need ReplicaSets), then workload status, Services, quotas,
HPAs, metrics and the scenario's raw overrides. The individual steps live in `sim.derive`.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from sim.derive import certs, disruption, ingress, jobs, nodes, pods, policy, services, sets, storage, workloads
from sim.defaulting import default_pod
from sim.derive.context import CLUSTER_SCOPED, Cluster, Memory, assign_uid, fmt
from sim.patching import json_merge_patch
from sim.scenario import Scenario

MAX_PASSES = 64  # a loop until nothing changes; a chain of evictions and replacements takes one pass each
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class LogError(Exception):
    """A log request the kubelet/API server refuses; code, reason and message as Kubernetes sends them."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


class Controller:
    def __init__(self, store: Any, scenario: Scenario) -> None:
        self.store = store
        self.scenario = scenario
        self.memory = Memory()

    # -- seeding -------------------------------------------------------------------------------
    def seed(self) -> None:
        with self.store.lock:
            cluster = Cluster(self.store, self.scenario, self.memory, seeding=True)
            created_long_ago = fmt(cluster.fault_start - timedelta(days=12))
            nodes.seed_nodes(cluster)
            namespaces = set(SYSTEM_NAMESPACES)
            for obj in self.scenario.objects:
                if obj["kind"] not in CLUSTER_SCOPED:
                    namespaces.add((obj.get("metadata") or {}).get("namespace") or "default")
            declared = {o["metadata"]["name"] for o in self.scenario.objects if o["kind"] == "Namespace"}
            for name in sorted(namespaces - declared):
                self._create({"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": name, "creationTimestamp": created_long_ago}})
            if not any(o["kind"] == "StorageClass" for o in self.scenario.objects):
                self._create({
                    "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                    "metadata": {"name": "standard", "creationTimestamp": created_long_ago,
                                 "annotations": {storage.DEFAULT_CLASS: "true"}},
                    "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
                    "volumeBindingMode": "Immediate",
                })
            for obj in self.scenario.objects:
                obj = copy.deepcopy(obj)
                meta = obj.setdefault("metadata", {})
                if obj["kind"] in CLUSTER_SCOPED:
                    meta.pop("namespace", None)
                else:
                    meta.setdefault("namespace", "default")
                meta.setdefault("creationTimestamp", fmt(workloads.first_applied(self.scenario, obj, cluster.fault_start)))
                self._create(default_pod(obj) if obj["kind"] == "Pod" else obj)
            policy.bootstrap_namespaces(cluster)  # earlier revisions' pods pass admission (their ServiceAccount)
            workloads.seed_history(cluster)
            self._reconcile(seeding=True)
            self._seed_overrides()

    def _create(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        if self.store.get(obj["kind"], meta.get("namespace"), meta["name"]) is None:
            assign_uid(obj, self.scenario.name, self.memory)
            self.store.create(obj)

    # -- reconcile -----------------------------------------------------------------------------
    def reconcile(self) -> None:
        with self.store.lock:
            self._reconcile(seeding=False)

    def _reconcile(self, seeding: bool) -> None:
        cluster = Cluster(self.store, self.scenario, self.memory, seeding=seeding)
        policy.bootstrap_namespaces(cluster)
        nodes.derive_nodes(cluster)
        certs.derive_certificates(cluster)  # before pods: an issued Secret can be mounted
        for _ in range(MAX_PASSES):
            cluster.changed = False
            storage.derive_claims(cluster)
            for cj in cluster.list("CronJob"):
                jobs.reconcile_cronjob(cluster, cj)
            for job in cluster.list("Job"):
                jobs.reconcile_job(cluster, job)
            for dep in cluster.list("Deployment"):
                workloads.reconcile_deployment(cluster, dep)
            for rs in cluster.list("ReplicaSet"):
                workloads.reconcile_replicaset(cluster, rs)
            for sts in cluster.list("StatefulSet"):
                sets.reconcile_statefulset(cluster, sts)
            for ds in cluster.list("DaemonSet"):
                sets.reconcile_daemonset(cluster, ds)
            storage.derive_claims(cluster)  # claims a StatefulSet just created bind before its pod schedules
            structural = cluster.changed
            pods.derive_pods(cluster)
            for job in cluster.list("Job"):
                jobs.job_status(cluster, job)
            services.derive_services(cluster)  # webhooks read endpoints during admission
            policy.derive_hpas(cluster, report=False)
            if not structural and not cluster.changed:
                break
        policy.derive_hpas(cluster)
        nodes.derive_nodes(cluster)  # pressure conditions from the pods now bound (and those the kubelet evicted)
        self._collect_garbage(cluster)
        for rs in cluster.list("ReplicaSet"):
            workloads.replicaset_status(cluster, rs)
        for dep in cluster.list("Deployment"):
            workloads.deployment_status(cluster, dep)
        for sts in cluster.list("StatefulSet"):
            sets.statefulset_status(cluster, sts)
        for ds in cluster.list("DaemonSet"):
            sets.daemonset_status(cluster, ds)
        disruption.derive_budgets(cluster)
        ingress.derive_ingresses(cluster)
        policy.derive_quotas(cluster)
        policy.derive_metrics(cluster)
        self._apply_status_overrides()

    def _collect_garbage(self, cluster: Cluster) -> None:
        """Delete objects whose controller owner is gone (background cascading deletion)."""
        for kind in ("ReplicaSet", "Pod", "Job", "EndpointSlice", "PersistentVolume"):
            for obj in cluster.list(kind):
                refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")]
                if not refs:
                    continue
                ref = refs[0]
                owner = cluster.get(ref["kind"], obj["metadata"].get("namespace"), ref["name"])
                if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
                    cluster.delete(kind, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        for svc_endpoints in cluster.list("Endpoints"):
            meta = svc_endpoints["metadata"]
            if cluster.get("Service", meta.get("namespace"), meta["name"]) is None and meta["name"] != "kubernetes":
                cluster.delete("Endpoints", meta.get("namespace"), meta["name"])

    # -- overrides -----------------------------------------------------------------------------
    def _resolve_pod(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        """A pod by exact name, else the first pod (by name) whose name starts with `<name>-`."""
        pod = self.store.get("Pod", namespace, name)
        if pod is not None:
            return pod
        candidates = [p for p in self.store.list("Pod", namespace) if p["metadata"]["name"].startswith(name + "-")]
        return candidates[0] if candidates else None

    def _seed_overrides(self) -> None:
        cluster = Cluster(self.store, self.scenario, self.memory, seeding=False)
        for ev in self.scenario.overrides.events:
            ref = ev.involved
            namespace = None if ref.kind in CLUSTER_SCOPED else (ref.namespace or "default")
            target = self.store.get(ref.kind, namespace, ref.name)
            if target is None and ref.kind == "Pod":
                target = self._resolve_pod(namespace, ref.name)
            if target is None:
                target = {"kind": ref.kind, "apiVersion": "v1",
                          "metadata": {"name": ref.name, "namespace": namespace}}
            last = cluster.now - timedelta(seconds=ev.ago)
            cluster.event(target, ev.reason, ev.message, type_=ev.type, component=ev.source,
                          host=(target.get("spec") or {}).get("nodeName") if ev.source == "kubelet" else None,
                          field_path=ev.field_path, count=ev.count,
                          first=last - timedelta(seconds=60 * (ev.count - 1)), last=last)

    def _apply_status_overrides(self) -> None:
        for override in self.scenario.overrides.status:
            namespace = None if override.kind in CLUSTER_SCOPED else (override.namespace or "default")
            obj = self.store.get(override.kind, namespace, override.name)
            if obj is None and override.kind == "Pod":
                obj = self._resolve_pod(namespace, override.name)
            if obj is None:
                continue
            obj["status"] = json_merge_patch(obj.get("status") or {}, override.status)
            self.store.put(obj)

    # -- logs ----------------------------------------------------------------------------------
    def read_log(self, namespace: str, pod: str, container: str | None, previous: bool) -> str:
        with self.store.lock:
            obj = self.store.get("Pod", namespace, pod)
            if obj is None:
                raise LogError(404, "NotFound", f'pods "{pod}" not found')
            mains = [c["name"] for c in obj["spec"].get("containers") or []]
            inits = [c["name"] for c in obj["spec"].get("initContainers") or []]
            if container is None:
                default = (obj["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
                if default:
                    container = default
                elif len(mains) == 1:
                    container = mains[0]
                else:
                    message = f"a container name must be specified for pod {pod}, choose one of: [{' '.join(mains)}]"
                    if inits:
                        message += f" or one of the init containers: [{' '.join(inits)}]"
                    raise LogError(400, "BadRequest", message)
            if container not in mains + inits:
                raise LogError(400, "BadRequest", f"container {container} is not valid for pod {pod}")
            if not obj["spec"].get("nodeName"):
                return ""
            record = self.memory.logs.get((namespace, pod, container)) or {}
            lines = self._override_lines(namespace, obj, container, previous)
            if previous:
                base = record.get("previous")
                if base is None and lines is None:
                    raise LogError(400, "BadRequest",
                                   f'previous terminated container "{container}" in pod "{pod}" not found')
            else:
                base = record.get("current")
                if base is None and lines is None:
                    waiting = record.get("waiting") or "ContainerCreating"
                    raise LogError(400, "BadRequest",
                                   f'container "{container}" in pod "{pod}" is waiting to start: {waiting}')
            out = list(base or [])
            if lines is not None:
                replace, extra = lines
                out = extra if replace else out + extra
            return "".join(line + "\n" for line in out)

    def _override_lines(self, namespace: str, pod: dict[str, Any], container: str,
                        previous: bool) -> tuple[bool, list[str]] | None:
        found = None
        name = pod["metadata"]["name"]
        for entry in self.scenario.overrides.logs:
            if entry.namespace != namespace or entry.previous != previous:
                continue
            if entry.pod != name and not name.startswith(entry.pod + "-"):
                continue
            if entry.container not in (None, container):
                continue
            replace, lines = found or (False, [])
            found = (replace or entry.replace, (lines if not entry.replace else []) + list(entry.lines))
        return found
