"""Deployments -> ReplicaSets -> Pods, with rolling updates and revision history, and their status.

The RollingUpdate arithmetic follows the deployment controller: scale the new ReplicaSet up within
maxSurge, clean up unhealthy old replicas, then scale old ones down while keeping
`replicas - maxUnavailable` available. Pods are rendered between passes, so a fix that makes new pods
Ready finishes its rollout within one reconcile.
"""

from __future__ import annotations

import copy
import math
from datetime import datetime, timedelta
from typing import Any

from sim.derive.context import Cluster, Obj, fmt, parse_time
from sim.derive.names import template_hash
from sim.derive.podfactory import create_pod, next_name
from sim.patching import strategic_merge_patch
from sim.scenario import Scenario

REVISION = "deployment.kubernetes.io/revision"


def active(pods: list[Obj]) -> list[Obj]:
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def evicted_at(pod: Obj) -> Any:
    """When the kubelet evicted the pod (its Ready condition turned False, reason PodFailed), or None."""
    status = pod.get("status") or {}
    if status.get("reason") != "Evicted":
        return None
    return next((parse_time(c.get("lastTransitionTime")) for c in status.get("conditions") or []
                 if c.get("type") == "Ready" and c.get("reason") == "PodFailed"), None)


def pod_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def set_condition(conditions: list[Obj], new: Obj, moment: datetime) -> list[Obj]:
    """Replace the condition of new['type'], keeping its times when status and reason did not change."""
    old = next((c for c in conditions if c.get("type") == new["type"]), None)
    stamp = fmt(moment)
    if old and old.get("status") == new["status"] and old.get("reason") == new.get("reason"):
        new = {**new, "lastTransitionTime": old.get("lastTransitionTime", stamp)}
        if "lastUpdateTime" in old:
            new["lastUpdateTime"] = old["lastUpdateTime"] if old.get("message") == new.get("message") else stamp
    else:
        new = {**new, "lastTransitionTime": stamp}
        if new["type"] in ("Available", "Progressing"):
            new["lastUpdateTime"] = stamp
    return [c for c in conditions if c.get("type") != new["type"]] + [new]


def _resolve(value: int | str | None, total: int, default: str, round_up: bool) -> int:
    value = default if value is None else value
    if isinstance(value, str) and value.endswith("%"):
        raw = int(value[:-1]) * total / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value)


# -- ReplicaSets --------------------------------------------------------------------------------


def reconcile_replicaset(cluster: Cluster, rs: Obj) -> None:
    meta = rs["metadata"]
    namespace = meta.get("namespace") or "default"
    pods = active(cluster.owned("Pod", rs))
    want = int(rs["spec"].get("replicas", 1))
    blocked_key = f"rs/{meta.get('uid')}"
    if len(pods) < want:
        # A replacement for an evicted pod is created when the eviction happened, not before it.
        evicted = [parse_time(p["metadata"].get("deletionTimestamp")) or evicted_at(p) for p in cluster.owned("Pod", rs)]
        created = max([t for t in evicted if t is not None and t > cluster.action_time] or [None],
                      key=lambda t: t or cluster.action_time)
        for _ in range(want - len(pods)):
            name = next_name(cluster, namespace, meta["name"])
            result = create_pod(cluster, rs, rs["spec"]["template"], name, {}, created=created)
            if isinstance(result, str):
                _blocked(cluster, rs, blocked_key, result)
                return
            cluster.event(rs, "SuccessfulCreate", f"Created pod: {name}", component="replicaset-controller")
    elif len(pods) > want:
        def rank(p: Obj) -> tuple:
            return (bool(p["spec"].get("nodeName")), pod_ready(p), p["metadata"].get("creationTimestamp") or "")
        for pod in sorted(pods, key=rank)[: len(pods) - want]:
            cluster.delete("Pod", namespace, pod["metadata"]["name"])
            cluster.event(rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}",
                          component="replicaset-controller")
    cluster.memory.blocked.pop(blocked_key, None)


def _blocked(cluster: Cluster, owner: Obj, key: str, message: str) -> None:
    """A FailedCreate that repeats while the cause lasts: one aggregated event, frozen like pod timelines."""
    seen = cluster.memory.blocked.get(key)
    if seen is None or seen[0] != message:
        seen = (message, cluster.action_time, cluster.now)
        cluster.memory.blocked[key] = seen
    _, since, observed = seen
    count = 1 + int((observed - since).total_seconds() // 120)
    component = "replicaset-controller" if owner["kind"] == "ReplicaSet" else f"{owner['kind'].lower()}-controller"
    cluster.event(owner, "FailedCreate", message, type_="Warning", component=component, count=count,
                  first=since, last=observed)


def replicaset_status(cluster: Cluster, rs: Obj) -> None:
    pods = active(cluster.owned("Pod", rs))
    ready = sum(1 for p in pods if pod_ready(p))
    status: Obj = {
        "replicas": len(pods),
        "fullyLabeledReplicas": len(pods),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": rs["metadata"].get("generation", 1),
    }
    blocked = cluster.memory.blocked.get(f"rs/{rs['metadata'].get('uid')}")
    conditions = (rs.get("status") or {}).get("conditions") or []
    if blocked:
        conditions = set_condition(conditions, {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                                "message": blocked[0]}, blocked[1])
    else:
        conditions = [c for c in conditions if c.get("type") != "ReplicaFailure"]
    if conditions:
        status["conditions"] = conditions
    status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
    rs["status"] = status
    cluster.save(rs)


# -- Deployments --------------------------------------------------------------------------------


def _new_replicaset(cluster: Cluster, dep: Obj, rss: list[Obj], template: Obj, created: datetime | None = None,
                    revision: int | None = None) -> Obj:
    meta = dep["metadata"]
    thash = template_hash(template)
    tmpl = copy.deepcopy(template)
    tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = thash
    selector = copy.deepcopy(dep["spec"].get("selector") or {"matchLabels": {}})
    selector.setdefault("matchLabels", {})["pod-template-hash"] = thash
    revisions = [int(r["metadata"].get("annotations", {}).get(REVISION, "0")) for r in rss]
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k != "kubectl.kubernetes.io/last-applied-configuration"}
    annotations.update({
        REVISION: str(revision or max(revisions + [0]) + 1),
        "deployment.kubernetes.io/desired-replicas": str(dep["spec"].get("replicas", 1)),
        "deployment.kubernetes.io/max-replicas": str(dep["spec"].get("replicas", 1) + 1),
    })
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{thash}",
            "namespace": meta.get("namespace"),
            "labels": dict(tmpl["metadata"]["labels"]),
            "annotations": annotations,
            "creationTimestamp": fmt(created or cluster.action_time),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"],
                                 "uid": meta.get("uid"), "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {"replicas": 0, "selector": selector, "template": tmpl,
                 "minReadySeconds": dep["spec"].get("minReadySeconds", 0)},
    }
    return cluster.create(rs)


HISTORY_AGE = timedelta(days=3)  # how long before the fault an earlier revision's ReplicaSet was created


def first_applied(scenario: Scenario, obj: Obj, applied: datetime) -> datetime:
    """When `obj` was first applied: a Deployment with earlier revisions predates its oldest ReplicaSet."""
    meta = obj.get("metadata") or {}
    if obj.get("kind") == "Deployment" and any(
            p.deployment == meta.get("name") and p.namespace == (meta.get("namespace") or "default")
            for p in scenario.world.previous_revisions):
        return applied.replace(microsecond=0) - HISTORY_AGE - timedelta(days=1)
    return applied


def seed_history(cluster: Cluster) -> None:
    """ReplicaSets for `world.previous_revisions`: earlier templates that once ran, fully available."""
    for prev in cluster.scenario.world.previous_revisions:
        dep = cluster.get("Deployment", prev.namespace, prev.deployment)
        if dep is None:
            continue
        old_template = strategic_merge_patch(dep["spec"]["template"], prev.patch.get("spec", {}).get("template", prev.patch))
        rss = cluster.owned("ReplicaSet", dep)
        if any(r["metadata"]["name"].endswith(template_hash(old_template)) for r in rss):
            continue
        created = cluster.fault_start.replace(microsecond=0) - HISTORY_AGE
        rs = _new_replicaset(cluster, dep, rss, old_template, created=created)
        rs["spec"]["replicas"] = int(dep["spec"].get("replicas", 1))
        rs = cluster.save(rs)
        for _ in range(rs["spec"]["replicas"]):
            name = next_name(cluster, rs["metadata"]["namespace"], rs["metadata"]["name"])
            create_pod(cluster, rs, rs["spec"]["template"], name, {}, created=created)


def _scale(cluster: Cluster, dep: Obj, rs: Obj, replicas: int) -> Obj:
    old = int(rs["spec"].get("replicas", 0))
    if old == replicas:
        return rs
    rs["spec"]["replicas"] = replicas
    rs["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(
        dep["spec"].get("replicas", 1))
    rs = cluster.save(rs)
    word = "up" if replicas > old else "down"
    cluster.event(dep, "ScalingReplicaSet", f"Scaled {word} replica set {rs['metadata']['name']} from {old} to {replicas}",
                  component="deployment-controller")
    cluster.memory.progress[dep["metadata"]["uid"]] = cluster.action_time
    return rs


def _available(cluster: Cluster, rs: Obj) -> int:
    return min(int(rs["spec"].get("replicas", 0)), sum(1 for p in active(cluster.owned("Pod", rs)) if pod_ready(p)))


def reconcile_deployment(cluster: Cluster, dep: Obj) -> None:
    spec = dep["spec"]
    if spec.get("paused"):
        return
    desired = int(spec.get("replicas", 1))
    rss = cluster.owned("ReplicaSet", dep)
    thash = template_hash(spec["template"])
    new = next((r for r in rss if r["metadata"].get("labels", {}).get("pod-template-hash") == thash), None)
    if new is None:
        new = _new_replicaset(cluster, dep, rss, spec["template"])
        cluster.memory.progress[dep["metadata"]["uid"]] = cluster.action_time
    else:
        top = max(int(r["metadata"].get("annotations", {}).get(REVISION, "0")) for r in rss)
        if int(new["metadata"].get("annotations", {}).get(REVISION, "0")) < top:  # a rollback
            new["metadata"]["annotations"][REVISION] = str(top + 1)
            new = cluster.save(new)
    olds = sorted([r for r in rss if r["metadata"]["name"] != new["metadata"]["name"]],
                  key=lambda r: r["metadata"].get("creationTimestamp") or "")
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        for old in olds:
            _scale(cluster, dep, old, 0)
        if all(not active(cluster.owned("Pod", o)) for o in olds):
            _scale(cluster, dep, new, desired)
        return
    rolling = strategy.get("rollingUpdate") or {}
    surge = _resolve(rolling.get("maxSurge"), desired, "25%", True)
    unavailable = _resolve(rolling.get("maxUnavailable"), desired, "25%", False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    total = sum(int(r["spec"].get("replicas", 0)) for r in [new] + olds)
    new_replicas = int(new["spec"].get("replicas", 0))
    if new_replicas > desired:
        new = _scale(cluster, dep, new, desired)
    elif new_replicas < desired:
        room = desired + surge - total
        if room > 0:
            new = _scale(cluster, dep, new, min(desired, new_replicas + room))
    total = sum(int(r["spec"].get("replicas", 0)) for r in [new] + olds)
    min_available = desired - unavailable
    new_unavailable = int(new["spec"].get("replicas", 0)) - _available(cluster, new)
    budget = total - min_available - new_unavailable
    for old in olds:  # clean up unhealthy old replicas first
        if budget <= 0:
            break
        unhealthy = int(old["spec"].get("replicas", 0)) - _available(cluster, old)
        step = min(unhealthy, budget)
        if step > 0:
            _scale(cluster, dep, old, int(old["spec"]["replicas"]) - step)
            budget -= step
    available = _available(cluster, new) + sum(_available(cluster, o) for o in olds)
    budget = available - min_available
    for old in olds:
        if budget <= 0:
            break
        step = min(int(old["spec"].get("replicas", 0)), budget)
        if step > 0:
            _scale(cluster, dep, old, int(old["spec"]["replicas"]) - step)
            budget -= step


def deployment_status(cluster: Cluster, dep: Obj) -> None:
    spec = dep["spec"]
    desired = int(spec.get("replicas", 1))
    rss = cluster.owned("ReplicaSet", dep)
    thash = template_hash(spec["template"])
    new = next((r for r in rss if r["metadata"].get("labels", {}).get("pod-template-hash") == thash), None)
    pods = [p for r in rss for p in active(cluster.owned("Pod", r))]
    ready = sum(1 for p in pods if pod_ready(p))
    updated = len(active(cluster.owned("Pod", new))) if new else 0
    new_available = _available(cluster, new) if new else 0
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    unavailable_ok = _resolve(rolling.get("maxUnavailable"), desired, "25%", False)
    status: Obj = {
        "observedGeneration": dep["metadata"].get("generation", 1),
        "replicas": len(pods),
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "unavailableReplicas": max(0, len(pods) - ready) if len(pods) >= desired else desired - ready,
    }
    conditions = (dep.get("status") or {}).get("conditions") or []
    moment = cluster.action_time
    if ready >= desired - unavailable_ok:
        available = {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability."}
    else:
        available = {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                     "message": "Deployment does not have minimum availability."}
    conditions = set_condition(conditions, available, moment)
    name = new["metadata"]["name"] if new else dep["metadata"]["name"]
    uid = dep["metadata"].get("uid")
    key = f"avail/{uid}"
    if cluster.memory.progress.get(key + "/n") != new_available:  # new pods became available: progress
        if new_available > (cluster.memory.progress.get(key + "/n") or 0):  # type: ignore[operator]
            cluster.memory.progress[uid] = cluster.action_time
        cluster.memory.progress[key + "/n"] = new_available  # type: ignore[assignment]
    complete = updated == desired and new_available == desired and len(pods) == desired
    deadline = spec.get("progressDeadlineSeconds", 600)
    since = cluster.memory.progress.get(uid) or parse_time(dep["metadata"].get("creationTimestamp")) or moment
    if complete:
        progressing = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                       "message": f'ReplicaSet "{name}" has successfully progressed.'}
    elif (cluster.now - since).total_seconds() > deadline:
        progressing = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                       "message": f'ReplicaSet "{name}" has timed out progressing.'}
        moment = since + timedelta(seconds=deadline)
    else:
        progressing = {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                       "message": f'ReplicaSet "{name}" is progressing.'}
    conditions = set_condition(conditions, progressing, moment)
    failure = next((c for r in rss for c in (r.get("status") or {}).get("conditions") or []
                    if c.get("type") == "ReplicaFailure"), None)
    if failure:
        conditions = set_condition(conditions, {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                                "message": failure.get("message")}, cluster.action_time)
    else:
        conditions = [c for c in conditions if c.get("type") != "ReplicaFailure"]
    order = {"Available": 0, "Progressing": 1, "ReplicaFailure": 2}
    status["conditions"] = sorted(conditions, key=lambda c: order.get(c["type"], 3))
    status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration", "conditions")}
    dep["status"] = status
    cluster.save(dep)
