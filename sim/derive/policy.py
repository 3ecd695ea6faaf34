"""Namespace bootstrap (default ServiceAccount, kube-root-ca.crt), ResourceQuota status, HPA status,
and metrics.k8s.io PodMetrics/NodeMetrics from the world's usage facts."""

from __future__ import annotations

import math
from datetime import timedelta

from sim.derive.context import Cluster, Obj, fmt
from sim.derive.podfactory import quota_usage
from sim.derive.scheduling import container_requests
from sim.derive.workloads import active, set_condition
from sim.quantity import format_kibibytes, format_nanocores, to_bytes, to_millicores

ROOT_CA = "-----BEGIN CERTIFICATE-----\nMIIC/jCCAeagAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\n-----END CERTIFICATE-----\n"


def bootstrap_namespaces(cluster: Cluster) -> None:
    for ns in cluster.list("Namespace"):
        name = ns["metadata"]["name"]
        if (ns.get("status") or {}).get("phase") != "Active" and not ns["metadata"].get("deletionTimestamp"):
            ns["status"] = {"phase": "Active"}
            ns.setdefault("spec", {"finalizers": ["kubernetes"]})
            ns["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            cluster.save(ns)
        created = ns["metadata"].get("creationTimestamp")
        if cluster.get("ServiceAccount", name, "default") is None:
            cluster.create({"apiVersion": "v1", "kind": "ServiceAccount",
                            "metadata": {"name": "default", "namespace": name, "creationTimestamp": created}})
        if cluster.get("ConfigMap", name, "kube-root-ca.crt") is None:
            cluster.create({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "kube-root-ca.crt", "namespace": name, "creationTimestamp": created,
                                         "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                            "data": {"ca.crt": ROOT_CA}})


def derive_quotas(cluster: Cluster) -> None:
    for quota in cluster.list("ResourceQuota"):
        hard = dict((quota.get("spec") or {}).get("hard") or {})
        quota["status"] = {"hard": hard, "used": quota_usage(cluster, quota)}
        cluster.save(quota)


def _pods_of(cluster: Cluster, target: Obj) -> list[Obj]:
    selector = ((target.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return [p for p in active(cluster.list("Pod", target["metadata"].get("namespace")))
            if selector and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())]


def derive_hpas(cluster: Cluster, report: bool = True) -> None:
    """HPA status and scaling; `report=False` (passes before the workloads settle) holds back the
    failure events, which would otherwise name pods a rollout is about to replace."""
    for hpa in cluster.list("HorizontalPodAutoscaler"):
        spec, meta = hpa.get("spec") or {}, hpa["metadata"]
        namespace = meta.get("namespace")
        ref = spec.get("scaleTargetRef") or {}
        kind, name = ref.get("kind", "Deployment"), ref.get("name", "")
        target = cluster.get(kind, namespace, name)
        conditions = (hpa.get("status") or {}).get("conditions") or []
        status: Obj = {"currentReplicas": 0, "desiredReplicas": 0}
        moment = cluster.action_time
        min_r, max_r = int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 1))
        if target is None:
            plural = {"Deployment": "deployments", "StatefulSet": "statefulsets", "ReplicaSet": "replicasets"}.get(kind, kind.lower() + "s")
            message = f'the HPA controller was unable to get the target\'s current scale: {plural}/scale.apps "{name}" not found'
            conditions = set_condition(conditions, {"type": "AbleToScale", "status": "False", "reason": "FailedGetScale",
                                                    "message": message}, moment)
            if report:
                _hpa_event(cluster, hpa, "FailedGetScale", message)
            hpa["status"] = {**status, "conditions": conditions}
            cluster.save(hpa)
            continue
        current = int((target.get("spec") or {}).get("replicas", 1))
        status.update(currentReplicas=current, desiredReplicas=current)
        conditions = set_condition(conditions, {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                                                "message": "recommended size matches current size"}, moment)
        pods = _pods_of(cluster, target)
        ratios: list[float] = []
        metrics_out = []
        failure = None
        failed_metric = "cpu"
        for metric in spec.get("metrics") or []:
            if metric.get("type") != "Resource":
                continue
            resource = (metric.get("resource") or {}).get("name", "cpu")
            want = ((metric.get("resource") or {}).get("target") or {}).get("averageUtilization")
            if want is None:
                continue
            used_total = requested_total = 0
            for pod in pods:
                usage = cluster.memory.usage.get((namespace or "default", pod["metadata"]["name"]), {})
                for c in pod["spec"].get("containers") or []:
                    cpu_req, mem_req = container_requests(c)
                    req = cpu_req if resource == "cpu" else mem_req
                    if not req:
                        failure = (f"failed to get {resource} utilization: missing request for {resource} in "
                                   f"container {c['name']} of Pod {pod['metadata']['name']}")
                        failed_metric = resource
                        break
                    cpu_used, mem_used = usage.get(c["name"], (0, 0))
                    used_total += cpu_used if resource == "cpu" else mem_used
                    requested_total += req
                if failure:
                    break
            if failure:
                break
            if requested_total:
                utilization = round(100 * used_total / requested_total)
                ratios.append(utilization / float(want))
                metrics_out.append({"type": "Resource", "resource": {"name": resource, "current": {
                    "averageUtilization": utilization,
                    "averageValue": (f"{used_total // max(1, len(pods))}m" if resource == "cpu"
                                     else format_kibibytes(used_total // max(1, len(pods))))}}})
        if failure:
            # The controller's own wording: the event carries the error, the condition wraps it, and
            # the replica computation reports the metric as invalid.
            conditions = set_condition(conditions, {
                "type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
                "message": f"the HPA was unable to compute the replica count: {failure}"}, moment)
            count = sum(1 for m in spec.get("metrics") or [] if m.get("type") == "Resource")
            if report:
                _hpa_event(cluster, hpa, "FailedGetResourceMetric", failure)
                _hpa_event(cluster, hpa, "FailedComputeMetricsReplicas",
                           f"invalid metrics ({count} invalid out of {count}), first error is: failed to get "
                           f"{failed_metric} resource metric value: {failure}")
        else:
            conditions = set_condition(conditions, {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
                                                    "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"}, moment)
            desired = max([math.ceil(current * r) for r in ratios] or [current])
            limited = None
            if desired > max_r:
                desired, limited = max_r, ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
            elif desired < min_r:
                desired, limited = min_r, ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
            conditions = set_condition(conditions, {"type": "ScalingLimited", "status": "True" if limited else "False",
                                                    "reason": limited[0] if limited else "DesiredWithinRange",
                                                    "message": limited[1] if limited else "the desired count is within the acceptable range"}, moment)
            status.update(desiredReplicas=desired, currentMetrics=metrics_out)
            if desired != current:
                target["spec"]["replicas"] = desired
                cluster.save(target)
                status["lastScaleTime"] = fmt(moment)
                # pkg/controller/podautoscaler: "New size: %d; reason: %s" (the metric above target, or all below)
                top = max(zip(ratios, metrics_out, strict=False), key=lambda pair: pair[0], default=None)
                above = top[1]["resource"]["name"] if top is not None and top[0] > 1 else None
                reason = (f"{above} resource utilization (percentage of request) above target" if desired > current
                          and above else "All metrics below target")
                cluster.event(hpa, "SuccessfulRescale", f"New size: {desired}; reason: {reason}",
                              component="horizontal-pod-autoscaler")
        order = {"AbleToScale": 0, "ScalingActive": 1, "ScalingLimited": 2}
        status["conditions"] = sorted(conditions, key=lambda c: order.get(c["type"], 3))
        hpa["status"] = status
        cluster.save(hpa)


def _hpa_event(cluster: Cluster, hpa: Obj, reason: str, message: str) -> None:
    key = f"hpa/{hpa['metadata'].get('uid')}/{reason}"
    seen = cluster.memory.blocked.get(key)
    if seen is None or seen[0] != message:
        seen = (message, cluster.action_time, cluster.now)
        cluster.memory.blocked[key] = seen
    count = 1 + int((seen[2] - seen[1]).total_seconds() // 15)
    cluster.event(hpa, reason, message, type_="Warning", component="horizontal-pod-autoscaler", count=count,
                  first=seen[1], last=seen[2])


def derive_metrics(cluster: Cluster) -> None:
    stamp = cluster.memory.observed.setdefault("metrics", cluster.now)
    per_node: dict[str, list[int]] = {}
    live = set()
    for pod in cluster.list("Pod"):
        meta = pod["metadata"]
        key = (meta.get("namespace") or "default", meta["name"])
        usage = cluster.memory.usage.get(key) or {}
        if not usage or (pod.get("status") or {}).get("phase") != "Running":
            continue
        live.add(key)
        node = pod["spec"].get("nodeName") or ""
        totals = per_node.setdefault(node, [0, 0])
        containers = []
        for name, (cpu, memory) in sorted(usage.items()):
            totals[0] += cpu
            totals[1] += memory
            containers.append({"name": name, "usage": {"cpu": format_nanocores(cpu), "memory": format_kibibytes(memory)}})
        cluster.save({
            "apiVersion": "metrics.k8s.io/v1beta1",
            "kind": "PodMetrics",
            "metadata": {"name": meta["name"], "namespace": key[0], "labels": dict(meta.get("labels") or {}),
                         "creationTimestamp": fmt(stamp)},
            "timestamp": fmt(stamp - timedelta(seconds=7)),
            "window": "15s",
            "containers": containers,
        })
    for stale in cluster.list("PodMetrics"):
        if (stale["metadata"].get("namespace"), stale["metadata"]["name"]) not in live:
            cluster.delete("PodMetrics", stale["metadata"].get("namespace"), stale["metadata"]["name"])
    for node in cluster.list("Node"):
        name = node["metadata"]["name"]
        facts = next((n for n in cluster.scenario.nodes if n.name == name), None)
        if facts is not None and facts.kubelet_stopped:
            cluster.delete("NodeMetrics", None, name)
            continue
        base_cpu = to_millicores(facts.cpu_used) if facts and facts.cpu_used else 120
        base_mem = to_bytes(facts.memory_used) if facts and facts.memory_used else 900 * 2**20
        cpu, memory = per_node.get(name, [0, 0])
        cluster.save({
            "apiVersion": "metrics.k8s.io/v1beta1",
            "kind": "NodeMetrics",
            "metadata": {"name": name, "labels": dict(node["metadata"].get("labels") or {}),
                         "creationTimestamp": fmt(stamp)},
            "timestamp": fmt(stamp - timedelta(seconds=7)),
            "window": "20s",
            "usage": {"cpu": format_nanocores(base_cpu + cpu), "memory": format_kibibytes(base_mem + memory)},
        })
