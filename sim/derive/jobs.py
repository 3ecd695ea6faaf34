"""Jobs (pods until completions or backoffLimit) and CronJobs (one Job, at the last schedule before the fault).

A failed pod is followed by the next one after the Job back-off (10s doubling), dated in the past when
that moment has passed, so a seeded failing Job shows its whole history: N pods in Error and
`Failed/BackoffLimitExceeded`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sim.derive.context import Cluster, Obj, fmt, parse_time
from sim.derive.podfactory import create_pod, next_name
from sim.derive.workloads import set_condition

BACKOFF_MESSAGE = "Job has reached the specified backoff limit"


def _finished(pod: Obj) -> datetime | None:
    times = [parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
             for cs in (pod.get("status") or {}).get("containerStatuses") or []]
    times = [t for t in times if t]
    return max(times) if times else None


def _job_pods(cluster: Cluster, job: Obj) -> tuple[list[Obj], list[Obj], list[Obj]]:
    pods = cluster.owned("Pod", job)
    phase = lambda p: (p.get("status") or {}).get("phase")
    failed = [p for p in pods if phase(p) == "Failed"]
    succeeded = [p for p in pods if phase(p) == "Succeeded"]
    running = [p for p in pods if phase(p) not in ("Failed", "Succeeded") and not p["metadata"].get("deletionTimestamp")]
    return running, failed, succeeded


def _conditions(job: Obj) -> list[Obj]:
    return (job.get("status") or {}).get("conditions") or []


def _finished_condition(job: Obj) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in _conditions(job))


def reconcile_job(cluster: Cluster, job: Obj) -> None:
    if _finished_condition(job) or (job.get("spec") or {}).get("suspend"):
        return
    spec = job["spec"]
    meta = job["metadata"]
    namespace = meta.get("namespace") or "default"
    running, failed, succeeded = _job_pods(cluster, job)
    completions = int(spec.get("completions", 1))
    limit = int(spec.get("backoffLimit", 6))
    if len(succeeded) >= completions or len(failed) > limit:
        return
    if running or len(running) >= int(spec.get("parallelism", 1)):
        return
    start = parse_time(meta.get("creationTimestamp")) or cluster.action_time
    due = start
    if failed:
        last = max((_finished(p) or start) for p in failed)
        due = last + timedelta(seconds=min(10 * 2 ** (len(failed) - 1), 360))
    if due > cluster.now:
        return
    name = next_name(cluster, namespace, meta["name"])
    labels = {"batch.kubernetes.io/controller-uid": meta.get("uid"), "batch.kubernetes.io/job-name": meta["name"],
              "controller-uid": meta.get("uid"), "job-name": meta["name"]}
    result = create_pod(cluster, job, spec["template"], name, labels, created=max(due, cluster.action_time)
                        if not cluster.seeding else due)
    if isinstance(result, str):
        cluster.event(job, "FailedCreate", result, type_="Warning", component="job-controller")
        return
    cluster.event(job, "SuccessfulCreate", f"Created pod: {name}", component="job-controller", count=1,
                  first=parse_time(result["metadata"]["creationTimestamp"]),
                  last=parse_time(result["metadata"]["creationTimestamp"]))


def job_status(cluster: Cluster, job: Obj) -> None:
    spec, meta = job["spec"], job["metadata"]
    running, failed, succeeded = _job_pods(cluster, job)
    completions = int(spec.get("completions", 1))
    limit = int(spec.get("backoffLimit", 6))
    start = parse_time(meta.get("creationTimestamp")) or cluster.action_time
    status: Obj = dict(job.get("status") or {})
    status.update(startTime=fmt(start), active=len(running), failed=len(failed), succeeded=len(succeeded),
                  ready=sum(1 for p in running if any(c.get("type") == "Ready" and c.get("status") == "True"
                                                      for c in p["status"].get("conditions") or [])),
                  terminating=0, uncountedTerminatedPods={})
    conditions = _conditions(job)
    if not _finished_condition(job):
        if len(succeeded) >= completions:
            at = max((_finished(p) or start) for p in succeeded)
            conditions = set_condition(conditions, {"type": "SuccessCriteriaMet", "status": "True"}, at)
            conditions = set_condition(conditions, {"type": "Complete", "status": "True"}, at)
            status["completionTime"] = fmt(at)
            cluster.event(job, "Completed", "Job completed", component="job-controller", count=1, first=at, last=at)
        elif len(failed) > limit:
            at = max((_finished(p) or start) for p in failed)
            for type_ in ("FailureTarget", "Failed"):
                conditions = set_condition(conditions, {"type": type_, "status": "True", "reason": "BackoffLimitExceeded",
                                                        "message": BACKOFF_MESSAGE}, at)
            cluster.event(job, "BackoffLimitExceeded", BACKOFF_MESSAGE, type_="Warning", component="job-controller",
                          count=1, first=at, last=at)
    for cond in conditions:
        cond.setdefault("lastProbeTime", cond.get("lastTransitionTime"))
    if conditions:
        status["conditions"] = conditions
    status = {k: v for k, v in status.items() if v or k in ("active",)}
    status.pop("active", None) if not running else None
    job["status"] = status
    cluster.save(job)


# -- CronJobs -----------------------------------------------------------------------------------


def _field_matches(field: str, value: int, low: int) -> bool:
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, 10_000
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = end = int(part)
            if step != 1:
                end = 10_000
        if start <= value <= end and (value - start) % step == 0:
            return True
    return False


_MACROS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
           "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"}


def last_schedule(schedule: str, before: datetime) -> datetime | None:
    fields = _MACROS.get(schedule.strip(), schedule).split()
    if len(fields) != 5:
        return None
    moment = before.replace(second=0, microsecond=0)
    try:
        for _ in range(60 * 24 * 8):
            dow = (moment.weekday() + 1) % 7
            if (_field_matches(fields[0], moment.minute, 0) and _field_matches(fields[1], moment.hour, 0)
                    and _field_matches(fields[2], moment.day, 1) and _field_matches(fields[3], moment.month, 1)
                    and _field_matches(fields[4], dow, 0)):
                return moment
            moment -= timedelta(minutes=1)
    except ValueError:
        return None
    return None


def reconcile_cronjob(cluster: Cluster, cj: Obj) -> None:
    spec, meta = cj["spec"], cj["metadata"]
    if spec.get("suspend") or cluster.owned("Job", cj) or not cluster.seeding:
        return
    at = last_schedule(str(spec.get("schedule", "")), cluster.fault_start)
    if at is None:
        return
    name = f"{meta['name']}-{int(at.timestamp() // 60)}"
    template = spec.get("jobTemplate") or {}
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace"),
            "labels": dict((template.get("metadata") or {}).get("labels") or {}),
            "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": fmt(at)},
            "creationTimestamp": fmt(at),
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": meta["name"],
                                 "uid": meta.get("uid"), "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1, **(template.get("spec") or {})},
    }
    cluster.create(job)
    cluster.event(cj, "SuccessfulCreate", f"Created job {name}", component="cronjob-controller", count=1,
                  first=at, last=at)
    cj.setdefault("status", {})["lastScheduleTime"] = fmt(at)
    cluster.save(cj)
