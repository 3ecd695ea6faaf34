"""Per pod: bind it to a node, plan what the kubelet does, unroll the plan, write status, events, logs.

Each pod follows one plan at a time. While the plan stays the same the rendering is frozen (same
status, same events); when it changes (a ConfigMap appears, a node frees up) a new segment starts at
the current time and its events add to the earlier ones, as Kubernetes aggregates repeated events.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sim.derive.context import Cluster, Obj, PodMemory, fmt, parse_time
from sim.derive.kubelet import plan_pod
from sim.derive.names import short_hash
from sim.derive.nodes import NOT_READY_TAINT, UNREACHABLE_TAINT, as_seen_at, is_ready, node_index
from sim.derive.scheduling import add_usage, node_usage, schedule
from sim.derive.timeline import Renderer
from sim.derive.traffic import call_logs

EVICTION_SECONDS = 300


def _pod_ip(cluster: Cluster, pod: Obj, node: str, taken: set[str]) -> str:
    existing = (pod.get("status") or {}).get("podIP")
    if existing:
        return str(existing)
    index = node_index(cluster, node)
    seed = short_hash(pod["metadata"]["name"])
    for i in range(250):
        ip = f"10.244.{index}.{2 + (seed + i) % 250}"
        if ip not in taken:
            taken.add(ip)
            return ip
    return f"10.244.{index}.254"


def _host_ip(node: Obj | None) -> str:
    for addr in ((node or {}).get("status") or {}).get("addresses") or []:
        if addr.get("type") == "InternalIP":
            return str(addr.get("address"))
    return ""


def _eviction_time(node: Obj, pod: Obj) -> Any:
    """When taint-based eviction deletes this pod from an unreachable/not-ready node, or None."""
    for taint in node["spec"].get("taints") or []:
        if taint.get("effect") != "NoExecute" or taint.get("key") not in (UNREACHABLE_TAINT, NOT_READY_TAINT):
            continue
        seconds: float | None = EVICTION_SECONDS
        for tol in pod["spec"].get("tolerations") or []:
            if (
                tol.get("key") in (taint["key"], None, "")
                and tol.get("effect") in ("NoExecute", None, "")
                and (tol.get("operator") == "Exists" or tol.get("key") == taint["key"])
            ):
                seconds = tol.get("tolerationSeconds")
                break
        if seconds is None:
            return None
        added = parse_time(taint.get("timeAdded"))
        return added + timedelta(seconds=float(seconds)) if added else None
    return None


def derive_pods(cluster: Cluster) -> None:
    nodes = cluster.list("Node")
    by_name = {n["metadata"]["name"]: n for n in nodes}
    pods = sorted(cluster.list("Pod"), key=lambda p: (p["metadata"].get("creationTimestamp") or "",
                                                       p["metadata"].get("namespace") or "", p["metadata"]["name"]))
    usage = node_usage(cluster, pods)
    taken = {str((p.get("status") or {}).get("podIP")) for p in pods if (p.get("status") or {}).get("podIP")}
    placed: list[tuple[Obj, str | None, str]] = []
    # The scheduler binds every pending pod first (the binding is an API write), so the kubelets' view of
    # a node (its pods, their disk use, who holds a volume) is complete when each pod's plan is made.
    for pod in pods:
        meta = pod["metadata"]
        if (pod.get("status") or {}).get("reason") == "Evicted":
            continue  # terminal: the kubelet has stopped it and nothing changes it any more
        node_name = pod["spec"].get("nodeName")
        node = by_name.get(node_name) if node_name else None
        if meta.get("deletionTimestamp") and (node is None or is_ready(node)):
            cluster.delete("Pod", meta.get("namespace"), meta["name"])
            continue
        schedule_error = ""
        if not node_name:
            # Scheduled when it was created: a node that failed later was still a candidate then.
            created = parse_time(meta.get("creationTimestamp"))
            seen = [as_seen_at(cluster, n, created) for n in nodes]
            chosen, schedule_error = schedule(cluster, pod, seen, usage, pods)
            if chosen:
                pod["spec"]["nodeName"] = node_name = chosen
                add_usage(usage, chosen, pod["spec"])
                cluster.save(pod)
        placed.append((pod, node_name, schedule_error))
    for pod, node_name, schedule_error in placed:
        node = by_name.get(node_name) if node_name else None
        node_lost = node is not None and not is_ready(node)
        pod_ip = _pod_ip(cluster, pod, node_name, taken) if node_name else ""
        plan = plan_pod(cluster, pod, node_name, schedule_error, pod_ip, node_lost)
        _render(cluster, pod, plan, node, pod_ip)
        if node_lost and node is not None:
            _node_lost(cluster, pod, node)


def _render(cluster: Cluster, pod: Obj, plan: Any, node: Obj | None, pod_ip: str) -> None:
    meta = pod["metadata"]
    uid = meta.get("uid") or meta["name"]
    key = plan.key()
    mem = cluster.memory.pods.get(uid)
    created = parse_time(meta.get("creationTimestamp")) or cluster.now
    if mem is None:
        mem = PodMemory(key, start=min(created, cluster.now), observed=cluster.now)
        cluster.memory.pods[uid] = mem
    elif mem.plan_key != key:
        mem.base_events = dict(mem.last_events)
        mem.base_restarts = dict(mem.last_restarts)
        mem.plan_key, mem.start, mem.observed = key, cluster.now, cluster.now
    renderer = Renderer(pod, plan, cluster.scenario.world, mem.start, mem.observed)
    renderer.pod_ip, renderer.host_ip = pod_ip, _host_ip(node)
    rendered = renderer.render()
    status = rendered.status
    if mem.base_restarts:
        for group in ("initContainerStatuses", "containerStatuses"):
            for cs in status.get(group) or []:
                cs["restartCount"] += mem.base_restarts.get(cs["name"], 0)
    if mem.start != created and "startTime" in status:
        status["startTime"] = fmt(created)
    mem.last_restarts = {
        cs["name"]: cs["restartCount"]
        for group in ("initContainerStatuses", "containerStatuses")
        for cs in status.get(group) or []
    }
    events: dict[str, Obj] = {}
    for ev in rendered.events:
        ekey = f"{ev['reason']}|{ev['message']}|{ev['field_path']}|{ev['component']}"
        events[ekey] = {**ev, "first": renderer.at_dt(ev["first"]), "last": renderer.at_dt(ev["last"])}
    for ekey, base in mem.base_events.items():
        if ekey in events and base["reason"] != "Scheduled":
            now = events[ekey]
            events[ekey] = {**now, "count": base["count"] + now["count"], "first": base["first"]}
        else:
            events[ekey] = base
    mem.last_events = events
    if meta.get("deletionTimestamp") and plan.node_lost:  # taint-based eviction (PodDisruptionConditions)
        status["conditions"] = status.get("conditions", []) + [{
            "type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
            "lastTransitionTime": meta["deletionTimestamp"], "reason": "DeletionByTaintManager",
            "message": "Taint manager: deleting due to NoExecute taint"}]
    pod["status"] = status
    cluster.save(pod)
    for ev in events.values():
        cluster.event(pod, ev["reason"], ev["message"], type_=ev["type"], component=ev["component"],
                      host=pod["spec"].get("nodeName") if ev["component"] == "kubelet" else None,
                      field_path=ev["field_path"], count=ev["count"], first=ev["first"], last=ev["last"])
    running = {cs["name"] for cs in status.get("containerStatuses") or [] if "running" in cs.get("state", {})}
    cluster.memory.usage[(meta.get("namespace") or "default", meta["name"])] = {
        c.name: (c.cpu, c.memory) for c in plan.containers if c.name in running}
    for name, logs in rendered.logs.items():
        calls = next((c.calls for c in plan.containers if c.name == name and c.name in running), [])
        if calls and logs.get("current") is not None:
            logs = {**logs, "current": list(logs["current"]) + call_logs(cluster, meta.get("namespace") or "default",
                                                                          calls, pod)}
        cluster.memory.logs[(meta.get("namespace") or "default", meta["name"], name)] = logs


def _node_lost(cluster: Cluster, pod: Obj, node: Obj) -> None:
    ready = next((c for c in node["status"].get("conditions") or [] if c["type"] == "Ready"), {})
    since = parse_time(ready.get("lastTransitionTime")) or cluster.now
    cluster.event(pod, "NodeNotReady", "Node is not ready", type_="Warning", component="node-controller",
                  count=1, first=since, last=since)
    evict_at = _eviction_time(node, pod)
    meta = pod["metadata"]
    if evict_at is not None and evict_at <= cluster.now and not meta.get("deletionTimestamp"):
        meta["deletionTimestamp"] = fmt(evict_at)
        meta["deletionGracePeriodSeconds"] = 30
        cluster.save(pod)
        cluster.event(pod, "TaintManagerEviction", f"Marking for deletion Pod {meta.get('namespace')}/{meta['name']}",
                      component="taint-eviction-controller", count=1, first=evict_at, last=evict_at)
