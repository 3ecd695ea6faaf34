"""When the pod an alert names is gone, look at the pod that replaced it, the way an SRE does.

Between an alert firing and anyone looking, a rollout, an eviction or a crash-looping controller may
have replaced the pod: `describe_pod` then answers "not found". The workload is still there (or, if it
was renamed, its pods still run the alert's container): derive the owner from the pod's name
(`<deploy>-<hash>-<5>`, `<statefulset>-<ordinal>`, `<daemonset|job>-<5>`) and the alert's workload
labels, list the namespace's pods, and continue with the most broken current pod of that workload. The
substitution is recorded on the run so the diagnosis says which pod its evidence is about.

Only runs after a failed describe, so the common path makes no extra call.
"""

from __future__ import annotations

from typing import Any

from agents.rules import targets
from agents.rules.run import Run


HEALTHY_STATUSES = ("Running", "Completed", "Succeeded")
MAX_DESCRIBES = 3  # pods described while looking for the alert's container among a namespace's broken pods


def _brokenness(row: dict[str, Any]) -> tuple[bool, bool, int]:
    """Sort key, most broken last: not Running-and-Ready, a waiting/failed status, restarts."""
    status = str(row.get("status") or "")
    ready, _, total = str(row.get("ready") or "").partition("/")
    try:
        restarts = int(row.get("restarts") or 0)
    except (TypeError, ValueError):
        restarts = 0
    return status not in HEALTHY_STATUSES or ready != total, status not in HEALTHY_STATUSES, restarts


def _unhealthy(row: dict[str, Any]) -> bool:
    status = str(row.get("status") or "")
    ready, _, total = str(row.get("ready") or "").partition("/")
    return status not in ("Completed", "Succeeded") and (status != "Running" or ready != total)


def _rows(result: Any) -> list[dict[str, Any]]:
    data = getattr(result, "data", None) if getattr(result, "ok", False) else None
    return [row for row in data or [] if isinstance(row, dict) and row.get("name")]


def _label(kind_var: str, name: str) -> str:
    return f"{targets.WORKLOAD_KINDS.get(kind_var, kind_var)} {name}"


async def _gone_workloads(run: Run, namespace: str, wanted: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """Which of the wanted workloads do not exist (None when that cannot be told)."""
    listed = await run.call("list_workloads", {"namespace": namespace})
    if not getattr(listed, "ok", False) and str(getattr(listed.status, "value", listed.status)) != "no_data":
        return None
    present = {(row.get("kind"), row.get("name")) for row in _rows(listed)}
    return [(var, name) for var, name in wanted if (targets.WORKLOAD_KINDS.get(var), name) not in present]


def _forget(run: Run, var: str, name: str) -> None:
    """Drop a variable that names an object which does not exist, so the run follows the live pod's owners."""
    if run.vars.get(var) == name:
        run.vars.pop(var)
        if run.facts.focus.get(var) == name:
            run.facts.focus.pop(var)


async def _with_container(run: Run, namespace: str, rows: list[dict[str, Any]], container: str | None) -> str | None:
    """The first of `rows` (most broken first) that runs the alert's container; describes at most a few."""
    if not container:
        return rows[0]["name"] if rows else None
    for row in rows[:MAX_DESCRIBES]:
        result = await run.call("describe_pod", {"namespace": namespace, "name": row["name"]})
        data = getattr(result, "data", None) or {}
        names = {c.get("name") for key in ("containers", "initContainers") for c in data.get(key) or []}
        if container in names:
            return str(row["name"])
    return None


async def replace_gone_pod(run: Run, gone: str) -> None:
    """`gone` (the alert's pod) was not found: set `pod` to its workload's most broken current pod, if any."""
    namespace = run.vars.get("namespace", "default")
    derived = targets.workloads_from_pod_name(gone)
    named = [(var, run.vars[var]) for var in targets.WORKLOAD_VARS if var in run.vars]
    wanted = list(dict.fromkeys([*named, *derived]))
    rows = _rows(await run.call("list_pods", {"namespace": namespace}))
    mine = [row for row in rows if any(targets.owned_by(row.get("owner"), var, name) for var, name in wanted)]
    if mine:
        picked = max(mine, key=_brokenness)
        owner = next(_label(var, name) for var, name in wanted if targets.owned_by(picked.get("owner"), var, name))
        whose = f"the evidence is from its workload {owner}'s current pod"
    else:
        gone_workloads = await _gone_workloads(run, namespace, wanted) if wanted else []
        if gone_workloads is None:
            run.notes.append(f"Pod {gone} named by the alert no longer exists, and its workload could not be listed.")
            return
        for var, name in gone_workloads:
            _forget(run, var, name)
        alive = [item for item in wanted if item not in gone_workloads and item in named]
        if alive:  # the workload exists but has no pod now (it cannot create one): the steps follow the workload
            run.notes.append(f"Pod {gone} named by the alert no longer exists, and its workload "
                             f"{_label(*alive[0])} has no pods now.")
            return
        broken = sorted((row for row in rows if _unhealthy(row)), key=_brokenness, reverse=True)
        container = run.vars.get("container")
        name = await _with_container(run, namespace, broken, container)
        if name is None:
            run.notes.append(f"Pod {gone} named by the alert no longer exists, nor does its workload; no current pod "
                             f"in {namespace}" + (f" runs container {container}." if container else " is unhealthy."))
            return
        picked = next(row for row in broken if row["name"] == name)
        gone_names = ", ".join(_label(*item) for item in gone_workloads) or "its workload"
        whose = f"{gone_names} does not exist either; the evidence is from " + (
            f"the unhealthy pod in {namespace} that runs container {container}," if container
            else f"the most broken pod in {namespace},")
    run.vars["pod"] = str(picked["name"])
    await run.call("describe_pod", {"namespace": namespace, "name": run.vars["pod"]})
    run.notes.append(f"Pod {gone} named by the alert no longer exists (replaced since the alert fired); {whose} "
                     f"{picked['name']} ({picked.get('status')}, ready {picked.get('ready')}, "
                     f"{picked.get('restarts', 0)} restarts).")
