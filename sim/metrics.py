"""Prometheus metrics for the simulated cluster, read from the same store the API serves.

Three sources, each scraped as its own job the way kube-prometheus-stack scrapes a real cluster:

- `kube-state-metrics` (`/metrics/kube-state-metrics`): kube-state-metrics v2 names and label sets, one
  family per object field, rendered from the stored objects' spec and status;
- `kubelet` (`/metrics/kubelet`): `kubelet_volume_stats_*` for the claims mounted by running pods, and
  `kubelet_node_name`/`kubelet_running_pods`;
- `cadvisor` (`/metrics/cadvisor`): per running container, working set and CPU from the PodMetrics objects
  (what `kubectl top` serves), so the two never disagree.

Nothing here keeps state: every scrape renders the store as it is, so a fix applied through the API shows
in the next scrape. Counters (CPU seconds, CFS periods) are the constant usage the metrics API reports
integrated over the container's current run, so `rate()` over them equals that usage.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.exposition import generate_latest

from sim.quantity import parse_quantity, to_bytes
from sim.store import ObjectStore

Obj = dict[str, Any]

SOURCES = ("kube-state-metrics", "kubelet", "cadvisor")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
POD_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
CFS_PERIOD_SECONDS = 0.1  # the kernel's default cpu.cfs_period_us


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _bool_label(value: str | None) -> str:
    return {"True": "true", "False": "false"}.get(value or "", "unknown")


def _condition(obj: Obj, kind: str) -> str | None:
    return next((c.get("status") for c in (obj.get("status") or {}).get("conditions") or []
                 if c.get("type") == kind), None)


class _Families:
    """Gauge/counter families keyed by name, each with a fixed label set (the exporter's)."""

    def __init__(self) -> None:
        self._families: dict[str, Metric] = {}
        self._labels: dict[str, list[str]] = {}

    def gauge(self, name: str, doc: str, labels: dict[str, str], value: float) -> None:
        self._add(GaugeMetricFamily, name, doc, labels, value)

    def counter(self, name: str, doc: str, labels: dict[str, str], value: float) -> None:
        self._add(CounterMetricFamily, name, doc, labels, value)

    def _add(self, cls: type[Metric], name: str, doc: str, labels: dict[str, str], value: float) -> None:
        family = self._families.get(name)
        if family is None:
            self._labels[name] = list(labels)
            family = cls(name, doc, labels=self._labels[name])  # type: ignore[call-arg]
            self._families[name] = family
        family.add_metric([labels[k] for k in self._labels[name]], value)  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[Metric]:
        return iter(self._families.values())


def _resources(container: Obj, which: str) -> dict[str, str]:
    return dict((container.get("resources") or {}).get(which) or {})


def _resource_series(quantity: str, resource: str) -> tuple[str, float]:
    """kube-state-metrics' (unit, value) for a resource quantity: cores for cpu, bytes for memory."""
    value = float(parse_quantity(quantity))
    if resource == "cpu":
        return "core", value
    if resource in ("memory", "storage", "ephemeral-storage") or resource.startswith("hugepages-"):
        return "byte", value
    return "integer", value


# -- kube-state-metrics ------------------------------------------------------------------------------------
def _pod_series(out: _Families, pod: Obj) -> None:
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    base = {"namespace": meta.get("namespace") or "default", "pod": meta["name"], "uid": meta.get("uid", "")}
    node = spec.get("nodeName") or ""
    owners = [r for r in meta.get("ownerReferences") or [] if r.get("controller")] or \
        list(meta.get("ownerReferences") or [])
    created_by = owners[0] if owners else {}
    out.gauge("kube_pod_info", "Information about pod.", {
        **base, "host_ip": status.get("hostIP", ""), "pod_ip": status.get("podIP", ""), "node": node,
        "created_by_kind": created_by.get("kind", ""), "created_by_name": created_by.get("name", ""),
        "priority_class": spec.get("priorityClassName", ""), "host_network": str(bool(spec.get("hostNetwork"))).lower()}, 1)
    if not owners:
        out.gauge("kube_pod_owner", "Information about the Pod's owner.",
                  {**base, "owner_kind": "", "owner_name": "", "owner_is_controller": ""}, 1)
    for ref in owners:
        out.gauge("kube_pod_owner", "Information about the Pod's owner.",
                  {**base, "owner_kind": ref.get("kind", ""), "owner_name": ref.get("name", ""),
                   "owner_is_controller": str(bool(ref.get("controller"))).lower()}, 1)
    phase = status.get("phase") or "Pending"
    for name in POD_PHASES:
        out.gauge("kube_pod_status_phase", "The pods current phase.", {**base, "phase": name}, 1 if phase == name else 0)
    for type_, family in (("Ready", "kube_pod_status_ready"), ("PodScheduled", "kube_pod_status_scheduled")):
        current = _bool_label(_condition(pod, type_))
        for value in ("true", "false", "unknown"):
            out.gauge(family, f"Describes whether the pod {type_}.", {**base, "condition": value},
                      1 if current == value else 0)
    if status.get("reason"):
        out.gauge("kube_pod_status_reason", "The pod status reasons", {**base, "reason": status["reason"]}, 1)
    if meta.get("deletionTimestamp"):
        out.gauge("kube_pod_deletion_timestamp", "Unix deletion timestamp", base,
                  _time(meta["deletionTimestamp"]).timestamp())  # type: ignore[union-attr]
    if status.get("startTime"):
        out.gauge("kube_pod_start_time", "Start time in unix timestamp for a pod.", base,
                  _time(status["startTime"]).timestamp())  # type: ignore[union-attr]
    for claim in (v.get("persistentVolumeClaim") for v in spec.get("volumes") or []):
        if claim:
            out.gauge("kube_pod_spec_volumes_persistentvolumeclaims_info",
                      "Information about persistentvolumeclaim volumes in a pod.",
                      {**base, "volume": "", "persistentvolumeclaim": claim.get("claimName", "")}, 1)
    for prefix, spec_key, status_key in (("kube_pod_container", "containers", "containerStatuses"),
                                         ("kube_pod_init_container", "initContainers", "initContainerStatuses")):
        statuses = {s.get("name"): s for s in status.get(status_key) or []}
        for container in spec.get(spec_key) or []:
            _container_series(out, prefix, base, node, container, statuses.get(container["name"]))


def _container_series(out: _Families, prefix: str, base: dict[str, str], node: str, container: Obj,
                      cstatus: Obj | None) -> None:
    labels = {**base, "container": container["name"]}
    for which, family in (("requests", "resource_requests"), ("limits", "resource_limits")):
        for resource, quantity in sorted(_resources(container, which).items()):
            unit, value = _resource_series(str(quantity), resource)
            out.gauge(f"{prefix}_{family}", f"The number of {which} resource requested by a container.",
                      {**labels, "node": node, "resource": resource, "unit": unit}, value)
    if cstatus is None:
        return
    out.gauge(f"{prefix}_info", "Information about a container in a pod.", {
        **labels, "image": container.get("image", ""), "image_spec": container.get("image", ""),
        "image_id": cstatus.get("imageID", ""), "container_id": cstatus.get("containerID", "")}, 1)
    state = cstatus.get("state") or {}
    for name in ("waiting", "running", "terminated"):
        out.gauge(f"{prefix}_status_{name}", f"Describes whether the container is currently in {name} state.",
                  labels, 1 if name in state else 0)
    out.gauge(f"{prefix}_status_ready", "Describes whether the containers readiness check succeeded.",
              labels, 1 if cstatus.get("ready") else 0)
    out.counter(f"{prefix}_status_restarts_total", "The number of container restarts per container.",
                labels, float(cstatus.get("restartCount") or 0))
    # kube-state-metrics v2 emits only the current reason, with value 1.
    if reason := (state.get("waiting") or {}).get("reason"):
        out.gauge(f"{prefix}_status_waiting_reason", "Describes the reason the container is currently in waiting state.",
                  {**labels, "reason": reason}, 1)
    if reason := (state.get("terminated") or {}).get("reason"):
        out.gauge(f"{prefix}_status_terminated_reason", "Describes the reason the container is currently in terminated state.",
                  {**labels, "reason": reason}, 1)
    last = (cstatus.get("lastState") or {}).get("terminated") or {}
    if last.get("reason"):
        out.gauge(f"{prefix}_status_last_terminated_reason", "Describes the last reason the container was in terminated state.",
                  {**labels, "reason": last["reason"]}, 1)
    if "exitCode" in last:
        out.gauge(f"{prefix}_status_last_terminated_exitcode", "Describes the exit code for the last container in terminated state.",
                  labels, float(last["exitCode"]))


def _workload_series(out: _Families, store: ObjectStore) -> None:
    for dep in store.list("Deployment"):
        meta, spec, status = dep["metadata"], dep.get("spec") or {}, dep.get("status") or {}
        base = {"namespace": meta.get("namespace") or "default", "deployment": meta["name"]}
        out.gauge("kube_deployment_spec_replicas", "Number of desired pods for a deployment.", base, spec.get("replicas", 1))
        out.gauge("kube_deployment_spec_paused", "Whether the deployment is paused.", base, 1 if spec.get("paused") else 0)
        for field, family in (("replicas", "replicas"), ("availableReplicas", "replicas_available"),
                              ("unavailableReplicas", "replicas_unavailable"), ("updatedReplicas", "replicas_updated"),
                              ("readyReplicas", "replicas_ready")):
            out.gauge(f"kube_deployment_status_{family}", f"The deployment's status.{field}.", base, status.get(field, 0))
        out.gauge("kube_deployment_status_observed_generation", "The generation observed by the deployment controller.",
                  base, status.get("observedGeneration", 0))
        out.gauge("kube_deployment_metadata_generation", "Sequence number representing a specific generation of the desired state.",
                  base, meta.get("generation", 1))
        for cond in status.get("conditions") or []:
            current = _bool_label(cond.get("status"))
            for value in ("true", "false", "unknown"):
                out.gauge("kube_deployment_status_condition", "The current status conditions of a deployment.",
                          {**base, "condition": cond.get("type", ""), "reason": cond.get("reason", ""), "status": value},
                          1 if current == value else 0)
    for sts in store.list("StatefulSet"):
        meta, spec, status = sts["metadata"], sts.get("spec") or {}, sts.get("status") or {}
        base = {"namespace": meta.get("namespace") or "default", "statefulset": meta["name"]}
        out.gauge("kube_statefulset_replicas", "Number of desired pods for a StatefulSet.", base, spec.get("replicas", 1))
        for field, family in (("replicas", "replicas"), ("readyReplicas", "replicas_ready"),
                              ("currentReplicas", "replicas_current"), ("updatedReplicas", "replicas_updated"),
                              ("availableReplicas", "replicas_available")):
            out.gauge(f"kube_statefulset_status_{family}", f"The StatefulSet's status.{field}.", base, status.get(field, 0))
        out.gauge("kube_statefulset_status_observed_generation", "The generation observed by the StatefulSet controller.",
                  base, status.get("observedGeneration", 0))
        out.gauge("kube_statefulset_metadata_generation", "Sequence number representing a specific generation of the desired state for the StatefulSet.",
                  base, meta.get("generation", 1))
        for field, family in (("currentRevision", "current_revision"), ("updateRevision", "update_revision")):
            if status.get(field):
                out.gauge(f"kube_statefulset_status_{family}", f"The StatefulSet's status.{field}.",
                          {**base, "revision": status[field]}, 1)
    for ds in store.list("DaemonSet"):
        meta, status = ds["metadata"], ds.get("status") or {}
        base = {"namespace": meta.get("namespace") or "default", "daemonset": meta["name"]}
        for field, family in (("currentNumberScheduled", "current_number_scheduled"),
                              ("desiredNumberScheduled", "desired_number_scheduled"),
                              ("numberAvailable", "number_available"), ("numberMisscheduled", "number_misscheduled"),
                              ("numberReady", "number_ready"), ("numberUnavailable", "number_unavailable"),
                              ("updatedNumberScheduled", "updated_number_scheduled"),
                              ("observedGeneration", "observed_generation")):
            out.gauge(f"kube_daemonset_status_{family}", f"The DaemonSet's status.{field}.", base, status.get(field, 0))
        out.gauge("kube_daemonset_metadata_generation", "Sequence number representing a specific generation of the desired state.",
                  base, meta.get("generation", 1))
    for job in store.list("Job"):
        meta, spec, status = job["metadata"], job.get("spec") or {}, job.get("status") or {}
        base = {"namespace": meta.get("namespace") or "default", "job_name": meta["name"]}
        owners = [r for r in meta.get("ownerReferences") or [] if r.get("controller")]
        out.gauge("kube_job_owner", "Information about the Job's owner.", {
            **base, "owner_kind": owners[0].get("kind", "") if owners else "",
            "owner_name": owners[0].get("name", "") if owners else "",
            "owner_is_controller": "true" if owners else ""}, 1)
        out.gauge("kube_job_spec_completions", "The desired number of successfully finished pods the job should be run with.",
                  base, spec.get("completions", 1))
        out.gauge("kube_job_spec_parallelism", "The maximum desired number of pods the job should run at any given time.",
                  base, spec.get("parallelism", 1))
        for field in ("active", "failed", "succeeded"):
            out.gauge(f"kube_job_status_{field}", f"The number of {field} pods.", base, status.get(field, 0))
        if status.get("startTime"):
            out.gauge("kube_job_status_start_time", "StartTime represents time when the job was acknowledged by the Job Manager.",
                      base, _time(status["startTime"]).timestamp())  # type: ignore[union-attr]
        if status.get("completionTime"):
            out.gauge("kube_job_status_completion_time", "CompletionTime represents time when the job was completed.",
                      base, _time(status["completionTime"]).timestamp())  # type: ignore[union-attr]
        for type_, family in (("Failed", "kube_job_failed"), ("Complete", "kube_job_complete")):
            cond = next((c for c in status.get("conditions") or [] if c.get("type") == type_), None)
            if cond is None:
                continue
            current = _bool_label(cond.get("status"))
            for value in ("true", "false", "unknown"):
                labels = {**base, "condition": value}
                if type_ == "Failed":
                    labels["reason"] = cond.get("reason", "")
                out.gauge(family, f"The job has {type_.lower()}.", labels, 1 if current == value else 0)
    for rs in store.list("ReplicaSet"):
        meta, spec, status = rs["metadata"], rs.get("spec") or {}, rs.get("status") or {}
        base = {"namespace": meta.get("namespace") or "default", "replicaset": meta["name"]}
        for ref in meta.get("ownerReferences") or []:
            out.gauge("kube_replicaset_owner", "Information about the ReplicaSet's owner.", {
                **base, "owner_kind": ref.get("kind", ""), "owner_name": ref.get("name", ""),
                "owner_is_controller": str(bool(ref.get("controller"))).lower()}, 1)
        out.gauge("kube_replicaset_spec_replicas", "Number of desired pods for a ReplicaSet.", base, spec.get("replicas", 1))
        out.gauge("kube_replicaset_status_ready_replicas", "The number of ready replicas per ReplicaSet.", base,
                  status.get("readyReplicas", 0))


def _policy_series(out: _Families, store: ObjectStore) -> None:
    for hpa in store.list("HorizontalPodAutoscaler"):
        meta, spec, status = hpa["metadata"], hpa.get("spec") or {}, hpa.get("status") or {}
        base = {"namespace": meta.get("namespace") or "default", "horizontalpodautoscaler": meta["name"]}
        ref = spec.get("scaleTargetRef") or {}
        out.gauge("kube_horizontalpodautoscaler_info", "Information about this autoscaler.",
                  {**base, "scaletargetref_api_version": ref.get("apiVersion", ""),
                   "scaletargetref_kind": ref.get("kind", ""), "scaletargetref_name": ref.get("name", "")}, 1)
        out.gauge("kube_horizontalpodautoscaler_spec_min_replicas", "Lower limit for the number of pods that can be set by the autoscaler, default 1.",
                  base, spec.get("minReplicas", 1))
        out.gauge("kube_horizontalpodautoscaler_spec_max_replicas", "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.",
                  base, spec.get("maxReplicas", 1))
        out.gauge("kube_horizontalpodautoscaler_status_current_replicas", "Current number of replicas of pods managed by this autoscaler.",
                  base, status.get("currentReplicas", 0))
        out.gauge("kube_horizontalpodautoscaler_status_desired_replicas", "Desired number of replicas of pods managed by this autoscaler.",
                  base, status.get("desiredReplicas", 0))
        for cond in status.get("conditions") or []:
            current = _bool_label(cond.get("status"))
            for value in ("true", "false", "unknown"):
                out.gauge("kube_horizontalpodautoscaler_status_condition", "The condition of this autoscaler.",
                          {**base, "condition": cond.get("type", ""), "status": value}, 1 if current == value else 0)
    for quota in store.list("ResourceQuota"):
        meta, status = quota["metadata"], quota.get("status") or {}
        base = {"namespace": meta.get("namespace") or "default", "resourcequota": meta["name"]}
        for type_ in ("hard", "used"):
            for resource, quantity in sorted((status.get(type_) or {}).items()):
                out.gauge("kube_resourcequota", "Information about resource quota.",
                          {**base, "resource": resource, "type": type_}, float(parse_quantity(str(quantity))))
    for pvc in store.list("PersistentVolumeClaim"):
        meta, spec, status = pvc["metadata"], pvc.get("spec") or {}, pvc.get("status") or {}
        base = {"namespace": meta.get("namespace") or "default", "persistentvolumeclaim": meta["name"]}
        out.gauge("kube_persistentvolumeclaim_info", "Information about persistent volume claim.",
                  {**base, "storageclass": spec.get("storageClassName") or "", "volumename": spec.get("volumeName") or ""}, 1)
        phase = status.get("phase") or "Pending"
        for name in ("Lost", "Bound", "Pending"):
            out.gauge("kube_persistentvolumeclaim_status_phase", "The phase the persistent volume claim is currently in.",
                      {**base, "phase": name}, 1 if phase == name else 0)
        for mode in spec.get("accessModes") or []:
            out.gauge("kube_persistentvolumeclaim_access_mode", "The access mode(s) specified by the persistent volume claim.",
                      {**base, "access_mode": mode}, 1)
        if storage := ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
            out.gauge("kube_persistentvolumeclaim_resource_requests_storage_bytes",
                      "The capacity of storage requested by the persistent volume claim.", base, to_bytes(str(storage)))
    for pdb in store.list("PodDisruptionBudget"):
        meta, status = pdb["metadata"], pdb.get("status") or {}
        base = {"namespace": meta.get("namespace") or "default", "poddisruptionbudget": meta["name"]}
        for field, family in (("currentHealthy", "current_healthy"), ("desiredHealthy", "desired_healthy"),
                              ("expectedPods", "expected_pods"), ("disruptionsAllowed", "pod_disruptions_allowed")):
            out.gauge(f"kube_poddisruptionbudget_status_{family}", f"The PodDisruptionBudget's status.{field}.",
                      base, status.get(field, 0))
    for ns in store.list("Namespace"):
        phase = (ns.get("status") or {}).get("phase") or "Active"
        for name in ("Active", "Terminating"):
            out.gauge("kube_namespace_status_phase", "kubernetes namespace status phase.",
                      {"namespace": ns["metadata"]["name"], "phase": name}, 1 if phase == name else 0)


def _node_series(out: _Families, store: ObjectStore) -> None:
    for node in store.list("Node"):
        meta, spec, status = node["metadata"], node.get("spec") or {}, node.get("status") or {}
        base = {"node": meta["name"]}
        info = status.get("nodeInfo") or {}
        out.gauge("kube_node_info", "Information about a cluster node.", {
            **base, "kernel_version": info.get("kernelVersion", ""), "os_image": info.get("osImage", ""),
            "container_runtime_version": info.get("containerRuntimeVersion", ""),
            "kubelet_version": info.get("kubeletVersion", ""), "provider_id": spec.get("providerID", ""),
            "internal_ip": next((a.get("address", "") for a in status.get("addresses") or []
                                 if a.get("type") == "InternalIP"), "")}, 1)
        out.gauge("kube_node_spec_unschedulable", "Whether a node can schedule new pods.", base,
                  1 if spec.get("unschedulable") else 0)
        for taint in spec.get("taints") or []:
            out.gauge("kube_node_spec_taint", "The taint of a cluster node.",
                      {**base, "key": taint.get("key", ""), "value": taint.get("value", ""),
                       "effect": taint.get("effect", "")}, 1)
        for cond in status.get("conditions") or []:
            current = _bool_label(cond.get("status"))
            for value in ("true", "false", "unknown"):
                out.gauge("kube_node_status_condition", "The condition of a cluster node.",
                          {**base, "condition": cond.get("type", ""), "status": value}, 1 if current == value else 0)
        for field, family in (("capacity", "kube_node_status_capacity"), ("allocatable", "kube_node_status_allocatable")):
            for resource, quantity in sorted((status.get(field) or {}).items()):
                unit, value = _resource_series(str(quantity), resource)
                out.gauge(family, f"The {field} for different resources of a node.",
                          {**base, "resource": resource, "unit": unit}, value)


def kube_state_metrics(store: ObjectStore) -> list[Metric]:
    out = _Families()
    for pod in store.list("Pod"):
        _pod_series(out, pod)
    _workload_series(out, store)
    _policy_series(out, store)
    _node_series(out, store)
    return list(out)


# -- kubelet and cAdvisor ------------------------------------------------------------------------------------
def _usage(store: ObjectStore) -> dict[tuple[str, str, str], tuple[float, int]]:
    """(namespace, pod, container) → (CPU cores, working-set bytes) from the PodMetrics objects."""
    usage: dict[tuple[str, str, str], tuple[float, int]] = {}
    for metrics in store.list("PodMetrics"):
        meta = metrics["metadata"]
        for c in metrics.get("containers") or []:
            cpu = float(parse_quantity(str((c.get("usage") or {}).get("cpu", "0"))))
            memory = to_bytes(str((c.get("usage") or {}).get("memory", "0")))
            usage[(meta.get("namespace") or "default", meta["name"], c["name"])] = (cpu, memory)
    return usage


def _running_since(pod: Obj, container: str) -> datetime | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            return _time(((status.get("state") or {}).get("running") or {}).get("startedAt"))
    return None


def cadvisor_metrics(store: ObjectStore) -> list[Metric]:
    out = _Families()
    now = store.now()
    usage = _usage(store)
    for pod in store.list("Pod"):
        meta, spec = pod["metadata"], pod.get("spec") or {}
        namespace = meta.get("namespace") or "default"
        for container in spec.get("containers") or []:
            key = (namespace, meta["name"], container["name"])
            if key not in usage:
                continue
            cpu, memory = usage[key]
            started = _running_since(pod, container["name"]) or now
            elapsed = max(0.0, (now - started).total_seconds())
            labels = {"namespace": namespace, "pod": meta["name"], "container": container["name"],
                      "image": container.get("image", ""), "node": spec.get("nodeName") or "",
                      "id": f"/kubepods/pod{meta.get('uid', '')}/{container['name']}",
                      "name": f"k8s_{container['name']}_{meta['name']}_{namespace}"}
            out.gauge("container_memory_working_set_bytes", "Current working set of the container in bytes", labels, memory)
            out.gauge("container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed",
                      labels, memory)
            out.counter("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", labels, cpu * elapsed)
            limits = _resources(container, "limits")
            if "memory" in limits:
                out.gauge("container_spec_memory_limit_bytes", "Memory limit for the container.", labels,
                          to_bytes(str(limits["memory"])))
            if "cpu" in limits:
                quota = float(parse_quantity(str(limits["cpu"])))
                periods = elapsed / CFS_PERIOD_SECONDS
                out.gauge("container_spec_cpu_quota", "CPU quota of the container.", labels, quota * CFS_PERIOD_SECONDS * 1e6)
                out.counter("container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.", labels, periods)
                # Constant demand at or above the quota exhausts it in every period; below it, in none.
                throttled = periods if cpu >= quota else 0.0
                out.counter("container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals.", labels, throttled)
                out.counter("container_cpu_cfs_throttled_seconds_total", "Total time duration the container has been throttled.",
                            labels, throttled * CFS_PERIOD_SECONDS * max(0.0, cpu - quota) / max(cpu, 1e-9))
    return list(out)


def kubelet_metrics(store: ObjectStore, volumes: Mapping[tuple[str, str], int] | None = None) -> list[Metric]:
    """The kubelet's own series; `volumes` is what each claim's filesystem holds ((namespace, claim) -> bytes,
    the world's `volumes` facts), as its volume stats report it."""
    out = _Families()
    running: dict[str, int] = {}
    mounted: dict[tuple[str, str], str] = {}
    for pod in store.list("Pod"):
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        node = spec.get("nodeName")
        if not node or status.get("phase") != "Running":
            continue
        running[node] = running.get(node, 0) + 1
        for volume in spec.get("volumes") or []:
            if claim := (volume.get("persistentVolumeClaim") or {}).get("claimName"):
                mounted[(pod["metadata"].get("namespace") or "default", claim)] = node
    for node in store.list("Node"):
        name = node["metadata"]["name"]
        if _condition(node, "Ready") != "True":
            continue  # a stopped kubelet serves nothing
        out.gauge("kubelet_node_name", "The node's name. The count is always 1.", {"node": name}, 1)
        out.gauge("kubelet_running_pods", "Number of pods that have a running pod sandbox", {"node": name},
                  running.get(name, 0))
    for (namespace, claim), node in sorted(mounted.items()):
        pvc = store.get("PersistentVolumeClaim", namespace, claim)
        if pvc is None or (pvc.get("status") or {}).get("phase") != "Bound":
            continue
        capacity = (pvc.get("status") or {}).get("capacity", {}).get("storage") or \
            (((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
        if not capacity:
            continue
        total = to_bytes(str(capacity))
        used = min(total, (volumes or {}).get((namespace, claim), 0))
        labels = {"namespace": namespace, "persistentvolumeclaim": claim, "node": node}
        out.gauge("kubelet_volume_stats_capacity_bytes", "Capacity in bytes of the volume", labels, total)
        out.gauge("kubelet_volume_stats_used_bytes", "Number of used bytes in the volume", labels, used)
        out.gauge("kubelet_volume_stats_available_bytes", "Number of available bytes in the volume", labels,
                  max(0, total - used))
    return list(out)


class _SourceCollector(Collector):
    def __init__(self, store: ObjectStore, sources: Iterable[str], volumes: Mapping[tuple[str, str], int]) -> None:
        self.store, self.sources, self.volumes = store, tuple(sources), volumes

    def collect(self) -> Iterable[Metric]:
        for source in self.sources:
            if source == "kubelet":
                yield from kubelet_metrics(self.store, self.volumes)
            else:
                yield from {"kube-state-metrics": kube_state_metrics, "cadvisor": cadvisor_metrics}[source](self.store)


def exposition(store: ObjectStore, source: str | None = None,
               volumes: Mapping[tuple[str, str], int] | None = None) -> bytes:
    """The Prometheus text exposition of one source, or of all three (`/metrics`)."""
    if source is not None and source not in SOURCES:
        raise KeyError(source)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SourceCollector(store, [source] if source else SOURCES, volumes or {}))
    return generate_latest(registry)
