"""Unroll a pod plan over time: container states, restarts and back-off, events, logs, pod status.

Times are offsets in seconds from the pod's start. A faulty pod observed right after it was created is
rendered as if a minute had passed (so a crash shows at once) and its offsets are squeezed back into
the real interval, so no timestamp lies in the future. Crash loops are shown in their back-off window:
`waiting: CrashLoopBackOff` with the last run in `lastState.terminated`, as most snapshots of a real
crash-looping pod show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sim.derive.context import Obj, fmt, go_duration
from sim.derive.kubelet import ContainerPlan, PodPlan
from sim.derive.names import digest
from sim.derive.world import image_facts, parse_image
from sim.scenario.schema import World

MIN_VIRTUAL = 60.0
PULL_SECONDS = 1.5


def backoff(n: int) -> float:
    """The kubelet's restart/pull back-off after the n-th failure: 10s doubling to 5m."""
    return float(min(10 * 2 ** (n - 1), 300))


@dataclass
class Rendered:
    status: Obj
    events: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[str, dict[str, Any]] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)
    ready: bool = False


class _Events:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str | None, str], dict[str, Any]] = {}

    def add(self, reason: str, message: str, count: int, first: float, last: float, *,
            type_: str = "Normal", field_path: str | None = None, component: str = "kubelet") -> None:
        if count <= 0:
            return
        key = (reason, message, field_path, component)
        item = self.items.get(key)
        if item is None:
            self.items[key] = {"reason": reason, "message": message, "count": count, "first": first,
                               "last": last, "type": type_, "field_path": field_path, "component": component}
        else:
            item["count"] += count
            item["first"] = min(item["first"], first)
            item["last"] = max(item["last"], last)


@dataclass
class _Result:
    state: Obj
    last_state: Obj = field(default_factory=dict)
    restarts: int = 0
    ready: bool = False
    started: bool = False
    done_at: float | None = None  # an init container that completed
    running_or_stopped: str = "waiting"  # running, stopped, waiting, succeeded, failed
    logs: dict[str, Any] = field(default_factory=dict)
    image_id: str = ""
    container_id: str = ""


class Renderer:
    def __init__(self, pod: Obj, plan: PodPlan, world: World, start: datetime, observed: datetime) -> None:
        self.pod, self.plan, self.world = pod, plan, world
        self.start = start
        real = max(0.0, (observed - start).total_seconds())
        # Init containers that run to completion also get the virtual minute: a pod observed right
        # after creation shows them done, as kubectl would a few seconds later.
        self.span = max(real, MIN_VIRTUAL) if plan.faulty or plan.init else real
        self.scale = real / self.span if self.span else 0.0
        self.events = _Events()
        meta = pod["metadata"]
        self.pod_ref = f"{meta['name']}_{meta.get('namespace')}({meta.get('uid')})"

    def at(self, offset: float) -> str:
        return fmt(self.start + timedelta(seconds=offset * self.scale))

    def at_dt(self, offset: float) -> datetime:
        return self.start + timedelta(seconds=offset * self.scale)

    # -- one container ---------------------------------------------------------------------------
    def _pull_events(self, c: ContainerPlan, starts: int, first: float, last: float) -> None:
        facts = image_facts(self.world, c.image)
        size = facts.size if facts else 50_000_000
        pulled = f'Successfully pulled image "{c.image}" in {PULL_SECONDS}s ({PULL_SECONDS}s including waiting). Image size: {size} bytes.'
        fp = c.field_path
        if c.pull_always:
            self.events.add("Pulling", f'Pulling image "{c.image}"', starts, first, last, field_path=fp)
            self.events.add("Pulled", pulled, starts, first + PULL_SECONDS, last + PULL_SECONDS, field_path=fp)
        else:
            self.events.add("Pulling", f'Pulling image "{c.image}"', 1, first, first, field_path=fp)
            self.events.add("Pulled", pulled, 1, first + PULL_SECONDS, first + PULL_SECONDS, field_path=fp)
            self.events.add("Pulled", f'Container image "{c.image}" already present on machine', starts - 1,
                            first, last, field_path=fp)

    def _attempts(self, t0: float) -> list[float]:
        attempts, t, n = [], t0, 0
        while t <= self.span:
            attempts.append(t)
            n += 1
            t += 1 + backoff(n)
        return attempts

    def _backoff_syncs(self, attempts: list[float]) -> int:
        total = 0
        for i, t in enumerate(attempts):
            window = min(backoff(i + 1), max(0.0, self.span - t))
            total += max(1, int(window // 20))
        return total

    def container(self, c: ContainerPlan, t0: float) -> _Result:
        fp = c.field_path
        ref = parse_image(c.image)
        image_id = f"{ref.repo}@sha256:{digest(ref.full)}"
        if c.pull_error:
            attempts = self._attempts(t0)
            first, last = attempts[0], attempts[-1]
            syncs = self._backoff_syncs(attempts)
            if c.missing_pull_secrets:
                self.events.add(
                    "FailedToRetrieveImagePullSecret",
                    f"Unable to retrieve some image pull secrets ({', '.join(c.missing_pull_secrets)}); "
                    "attempting to pull the image may not succeed.",
                    len(attempts) + syncs, first, self.span, type_="Warning", field_path=None)
            self.events.add("Pulling", f'Pulling image "{c.image}"', len(attempts), first, last, field_path=fp)
            self.events.add("Failed", f'Failed to pull image "{c.image}": {c.pull_error}', len(attempts), first,
                            last, type_="Warning", field_path=fp)
            self.events.add("Failed", "Error: ErrImagePull", len(attempts), first, last, type_="Warning", field_path=fp)
            self.events.add("BackOff", f'Back-off pulling image "{c.image}"', syncs, first + 1, self.span, field_path=fp)
            self.events.add("Failed", "Error: ImagePullBackOff", syncs, first + 1, self.span, type_="Warning",
                            field_path=fp)
            return _Result(
                state={"waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{c.image}"'}},
                logs={"waiting": "trying and failing to pull image"},
            )
        if c.config_error:
            attempts = self._attempts(t0)
            self._pull_events(c, len(attempts), attempts[0], attempts[-1])
            self.events.add("Failed", f"Error: {c.config_error}", len(attempts), attempts[0] + PULL_SECONDS,
                            attempts[-1] + PULL_SECONDS, type_="Warning", field_path=fp)
            return _Result(
                state={"waiting": {"reason": "CreateContainerConfigError", "message": c.config_error}},
                logs={"waiting": "CreateContainerConfigError"},
                image_id=image_id,
            )
        completes = c.exit_code is not None and (c.init or self.plan.restart_policy != "Always") and (
            c.exit_code == 0 or self.plan.restart_policy == "Never"
        )
        if completes:
            assert c.exit_code is not None
            s, e = t0 + PULL_SECONDS, t0 + PULL_SECONDS + c.run_seconds
            self._pull_events(c, 1, t0, t0)
            self.events.add("Created", f"Created container {c.name}", 1, s, s, field_path=fp)
            self.events.add("Started", f"Started container {c.name}", 1, s, s, field_path=fp)
            cid = f"containerd://{digest(self.pod_ref + c.name + '0')}"
            terminated = {"exitCode": c.exit_code, "reason": c.exit_reason or "Completed", "startedAt": self.at(s),
                          "finishedAt": self.at(e), "containerID": cid}
            if e > self.span:
                return _Result(state={"running": {"startedAt": self.at(s)}}, started=True, ready=c.readiness is None,
                               running_or_stopped="running", logs={"current": c.logs}, image_id=image_id,
                               container_id=cid)
            return _Result(state={"terminated": terminated}, done_at=e if c.exit_code == 0 else None,
                           running_or_stopped="succeeded" if c.exit_code == 0 else "failed",
                           logs={"current": c.logs}, image_id=image_id, container_id=cid)
        if c.start_error or c.exit_code is not None or c.liveness:
            return self._crash_loop(c, t0, image_id)
        s = t0 + PULL_SECONDS
        self._pull_events(c, 1, t0, t0)
        self.events.add("Created", f"Created container {c.name}", 1, s, s, field_path=fp)
        self.events.add("Started", f"Started container {c.name}", 1, s, s, field_path=fp)
        if c.readiness:
            count = max(1, int((self.span - s) // c.readiness_period))
            self.events.add("Unhealthy", f"Readiness probe failed: {c.readiness}", count, s + c.readiness_period,
                            max(s + c.readiness_period, self.span), type_="Warning", field_path=fp)
        for probe, message, count, offset, period in c.warmup:
            # Checks that failed while the process was starting, as far as the observed interval reaches.
            seen = min(count, int((self.span - s - offset) // period) + 1) if self.span >= s + offset else 0
            self.events.add("Unhealthy", f"{probe} probe failed: {message}", seen, s + offset,
                            s + offset + period * (seen - 1), type_="Warning", field_path=fp)
        cid = f"containerd://{digest(self.pod_ref + c.name + '0')}"
        return _Result(state={"running": {"startedAt": self.at(s)}}, ready=c.readiness is None, started=True,
                       running_or_stopped="running", logs={"current": c.logs + c.ready_logs}, image_id=image_id,
                       container_id=cid)

    def _crash_loop(self, c: ContainerPlan, t0: float, image_id: str) -> _Result:
        fp = c.field_path
        if c.start_error:
            run, code, reason = 0.0, 128, "StartError"
        elif c.liveness:
            run, code = c.liveness_kill_after, c.sigterm_exit_code
            reason = "Completed" if code == 0 else "Error"
        else:
            run, code, reason = c.run_seconds, int(c.exit_code or 0), c.exit_reason or "Error"
        if self.plan.restart_policy == "Never" and not c.init:
            return self._ran_once(c, t0, image_id, run, code, reason)
        runs: list[tuple[float, float]] = []
        t = t0
        while True:
            s = t + PULL_SECONDS
            if s + run > self.span or s > self.span:
                break
            runs.append((s, s + run))
            t = s + run + backoff(len(runs))
        live_start = None
        if not runs:  # still in the first run (a slow liveness failure)
            live_start = t0 + PULL_SECONDS
        starts = len(runs) + (1 if live_start is not None else 0)
        first, last = t0, (runs[-1][0] if runs else t0)
        self._pull_events(c, starts, first, last)
        self.events.add("Created", f"Created container {c.name}", starts, first + PULL_SECONDS, last, field_path=fp)
        if c.start_error:
            self.events.add("Failed", f"Error: {c.start_error}", starts, first + PULL_SECONDS, last,
                            type_="Warning", field_path=fp)
        else:
            self.events.add("Started", f"Started container {c.name}", starts, first + PULL_SECONDS, last, field_path=fp)
        if c.liveness:
            checks = len(runs) * c.liveness_threshold
            if live_start is not None:
                checks = min(c.liveness_threshold - 1, int((self.span - live_start) // c.liveness_period))
            # pkg/kubelet/kuberuntime/kuberuntime_manager.go: "Container %s failed %s probe" + ", will be restarted"
            self.events.add("Unhealthy", f"{c.kill_probe.capitalize()} probe failed: {c.liveness}", checks,
                            first + PULL_SECONDS + c.liveness_period, self.span, type_="Warning", field_path=fp)
            self.events.add("Killing", f"Container {c.name} failed {c.kill_probe} probe, will be restarted", len(runs),
                            runs[0][1] if runs else 0, runs[-1][1] if runs else 0, field_path=fp)
        cid = lambda n: f"containerd://{digest(self.pod_ref + c.name + str(n))}"
        if live_start is not None:
            return _Result(state={"running": {"startedAt": self.at(live_start)}}, started=c.kill_probe != "startup",
                           running_or_stopped="running", logs={"current": c.logs}, image_id=image_id,
                           container_id=cid(0))
        syncs = 0
        for i, (_, end) in enumerate(runs):
            window = min(backoff(i + 1), max(0.0, self.span - end))
            syncs += max(1, int(window // 20))
        self.events.add("BackOff", f"Back-off restarting failed container {c.name} in pod {self.pod_ref}", syncs,
                        runs[0][1], self.span, type_="Warning", field_path=fp)
        s, e = runs[-1]
        terminated: Obj = {"exitCode": code, "reason": reason, "startedAt": self.at(s), "finishedAt": self.at(e),
                           "containerID": cid(len(runs) - 1)}
        if c.start_error:
            terminated["startedAt"] = "1970-01-01T00:00:00Z"
            terminated["message"] = c.start_error
        state = {"waiting": {
            "reason": "CrashLoopBackOff",
            "message": f"back-off {go_duration(backoff(len(runs)))} restarting failed container={c.name} pod={self.pod_ref}",
        }}
        logs = {"current": c.logs, "previous": c.logs if len(runs) >= 2 else None}
        return _Result(state=state, last_state={"terminated": terminated}, restarts=len(runs),
                       running_or_stopped="stopped", logs=logs, image_id=image_id, container_id=cid(len(runs) - 1))

    def _ran_once(self, c: ContainerPlan, t0: float, image_id: str, run: float, code: int, reason: str) -> _Result:
        """restartPolicy Never: the kubelet does not restart a container that failed to start, crashed or was
        killed by its liveness probe; it stays terminated and the pod fails (a Job then makes a new pod)."""
        fp = c.field_path
        s, e = t0 + PULL_SECONDS, t0 + PULL_SECONDS + run
        cid = f"containerd://{digest(self.pod_ref + c.name + '0')}"
        self._pull_events(c, 1, t0, t0)
        self.events.add("Created", f"Created container {c.name}", 1, s, s, field_path=fp)
        if c.start_error:
            self.events.add("Failed", f"Error: {c.start_error}", 1, s, s, type_="Warning", field_path=fp)
        else:
            self.events.add("Started", f"Started container {c.name}", 1, s, s, field_path=fp)
        if c.liveness:
            self.events.add("Unhealthy", f"Liveness probe failed: {c.liveness}", c.liveness_threshold,
                            s + c.liveness_period, e, type_="Warning", field_path=fp)
            self.events.add("Killing", f"Container {c.name} failed liveness probe, will be restarted", 1, e, e,
                            field_path=fp)
        if e > self.span:
            return _Result(state={"running": {"startedAt": self.at(s)}}, started=True, running_or_stopped="running",
                           logs={"current": c.logs}, image_id=image_id, container_id=cid)
        terminated: Obj = {"exitCode": code, "reason": reason, "startedAt": self.at(s), "finishedAt": self.at(e),
                           "containerID": cid}
        if c.start_error:
            terminated["startedAt"] = "1970-01-01T00:00:00Z"
            terminated["message"] = c.start_error
        return _Result(state={"terminated": terminated}, running_or_stopped="failed", logs={"current": c.logs},
                       image_id=image_id, container_id=cid)

    # -- the whole pod ----------------------------------------------------------------------------
    def render(self) -> Rendered:
        pod, plan = self.pod, self.plan
        meta, spec = pod["metadata"], pod["spec"]
        status: Obj = {"phase": "Pending", "qosClass": qos_class(spec)}
        out = Rendered(status=status)
        start = fmt(self.start)
        if plan.node is None:
            status["conditions"] = [_cond("PodScheduled", "False", start, "Unschedulable", plan.schedule_error)]
            self.events.add("FailedScheduling", plan.schedule_error, 1 + int(self.span // 300), 0, self.span,
                            type_="Warning", component="default-scheduler")
            out.events = list(self.events.items.values())
            return out
        self.events.add("Scheduled", f"Successfully assigned {meta.get('namespace')}/{meta['name']} to {plan.node}",
                        1, 0, 0, component="default-scheduler")
        status["startTime"] = start
        inits = spec.get("initContainers") or []
        mains = spec.get("containers") or []
        init_results: list[_Result] = []
        main_results: list[_Result] = []
        if plan.attach_error:
            self.events.add("FailedAttachVolume", plan.attach_error, 1, 0, 0, type_="Warning",
                            component="attachdetach-controller")
        elif plan.mount_error:
            attempts = self._attempts(0)
            self.events.add("FailedMount", plan.mount_error, len(attempts) + 6, 0, self.span, type_="Warning")
        if plan.mount_error or plan.attach_error:
            if self.span >= 122:
                access = next((v["name"] for v in spec.get("volumes") or [] if v["name"].startswith("kube-api-access")), None)
                unattached = " ".join(sorted(plan.mount_volumes + ([access] if access else [])))
                self.events.add(
                    "FailedMount",
                    f"Unable to attach or mount volumes: unmounted volumes=[{' '.join(plan.mount_volumes)}], "
                    f"unattached volumes=[{unattached}]: timed out waiting for the condition",
                    int(self.span // 122), 122, self.span, type_="Warning")
            waiting = "PodInitializing" if inits else "ContainerCreating"
            init_results = [_Result(state={"waiting": {"reason": "PodInitializing"}}, logs={"waiting": "PodInitializing"}) for _ in inits]
            main_results = [_Result(state={"waiting": {"reason": waiting}}, logs={"waiting": waiting}) for _ in mains]
        else:
            t = 0.0
            blocked = False
            for c in plan.init:
                if blocked:
                    init_results.append(_Result(state={"waiting": {"reason": "PodInitializing"}},
                                                logs={"waiting": "PodInitializing"}))
                    continue
                result = self.container(c, t)
                init_results.append(result)
                if result.done_at is None:
                    blocked = True
                else:
                    t = result.done_at
            for c in plan.containers:
                if blocked:
                    main_results.append(_Result(state={"waiting": {"reason": "PodInitializing"}},
                                                logs={"waiting": "PodInitializing"}))
                else:
                    main_results.append(self.container(c, t))
            status["podIP"] = pod_ip = self.pod_ip
            status["podIPs"] = [{"ip": pod_ip}]
        status["hostIP"] = self.host_ip
        status["hostIPs"] = [{"ip": self.host_ip}]
        if init_results:
            status["initContainerStatuses"] = [
                self._container_status(c, r) for c, r in zip(inits, init_results, strict=True)]
        status["containerStatuses"] = [self._container_status(c, r) for c, r in zip(mains, main_results, strict=True)]
        initialized = all(r.done_at is not None for r in init_results)
        ready = initialized and all(r.ready for r in main_results) and not plan.node_lost
        init_failed = any(r.running_or_stopped == "failed" for r in init_results)
        status["phase"] = "Failed" if init_failed and plan.restart_policy == "Never" else \
            _phase(plan.restart_policy, initialized, main_results)
        unready = [c["name"] for c, r in zip(mains, main_results, strict=True) if not r.ready]
        incomplete = [c["name"] for c, r in zip(inits, init_results, strict=True) if r.done_at is None]
        ready_at = start if not main_results else self._ready_time(main_results)
        conditions = [
            _cond("PodReadyToStartContainers", "False" if plan.mount_error or plan.attach_error else "True", start),
            _cond("Initialized", "True" if initialized else "False", start,
                  None if initialized else "ContainersNotInitialized",
                  None if initialized else f"containers with incomplete status: [{' '.join(incomplete)}]"),
            _cond("Ready", "True" if ready else "False", ready_at, None if ready else "ContainersNotReady",
                  None if ready else f"containers with unready status: [{' '.join(unready)}]"),
            _cond("ContainersReady", "True" if ready else "False", ready_at, None if ready else "ContainersNotReady",
                  None if ready else f"containers with unready status: [{' '.join(unready)}]"),
            _cond("PodScheduled", "True", start),
        ]
        if status["phase"] in ("Succeeded", "Failed"):
            for cond in conditions:
                if cond["type"] in ("Ready", "ContainersReady"):
                    cond.update(status="False", reason="PodCompleted")
                    cond.pop("message", None)
        if plan.node_lost and status["phase"] == "Running":
            conditions[2] = {"type": "Ready", "status": "False", "lastProbeTime": None,
                             "lastTransitionTime": start}
        status["conditions"] = conditions
        if plan.evict_after is not None and main_results and self.span >= PULL_SECONDS + plan.evict_after:
            ready = self._evicted(status, mains, main_results, PULL_SECONDS + plan.evict_after)
        out.ready = ready
        out.events = list(self.events.items.values())
        for c, r in zip(inits + mains, init_results + main_results, strict=True):
            out.logs[c["name"]] = r.logs
            out.restarts[c["name"]] = r.restarts
        return out

    def _evicted(self, status: Obj, mains: list[Obj], results: list[_Result], at: float) -> bool:
        """The kubelet's eviction (eviction_manager.evictPod): the pod Failed with reason Evicted and the
        message, its containers stopped; for node pressure a DisruptionTarget condition (TerminationByKubelet)."""
        plan = self.plan
        self.events.add("Evicted", plan.evict_message, 1, at, at, type_="Warning")
        for c in mains:
            self.events.add("Killing", f"Stopping container {c['name']}", 1, at, at,
                            field_path=f"spec.containers{{{c['name']}}}")
        status.update(phase="Failed", reason="Evicted", message=plan.evict_message)
        for r in results:
            # What a current kubelet reports for an evicted pod's containers (kubernetes#105467, #122160):
            # ContainerStatusUnknown with no times, so kubectl's STATUS column shows that word.
            r.state = {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown",
                                      "message": "The container could not be located when the pod was terminated",
                                      "startedAt": None, "finishedAt": None}}
            r.ready, r.started, r.running_or_stopped = False, False, "failed"
        status["containerStatuses"] = [self._container_status(c, r) for c, r in zip(mains, results, strict=True)]
        for cond in status["conditions"]:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond.update(status="False", reason="PodFailed", lastTransitionTime=self.at(at))
                cond.pop("message", None)
        if plan.evict_pressure:
            status["conditions"].append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                                         "lastTransitionTime": self.at(at), "reason": "TerminationByKubelet",
                                         "message": plan.evict_message})
        return False

    pod_ip = ""
    host_ip = ""

    def _ready_time(self, results: list[_Result]) -> str:
        return fmt(self.start + timedelta(seconds=PULL_SECONDS * self.scale))

    def _container_status(self, container: Obj, r: _Result) -> Obj:
        status: Obj = {
            "name": container["name"],
            "image": container.get("image", ""),
            "imageID": r.image_id,
            "ready": r.ready,
            "restartCount": r.restarts,
            "started": r.started,
            "state": r.state,
            "lastState": r.last_state,
        }
        if r.image_id:
            status["image"] = parse_image(container.get("image", "")).full
        if r.container_id:
            status["containerID"] = r.container_id
        return status


def _cond(type_: str, status: str, at: str, reason: str | None = None, message: str | None = None) -> Obj:
    cond: Obj = {"type": type_, "status": status, "lastProbeTime": None, "lastTransitionTime": at}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _phase(policy: str, initialized: bool, results: list[_Result]) -> str:
    if not initialized:
        return "Pending"
    states = [r.running_or_stopped for r in results]
    if "waiting" in states:
        return "Pending"
    if "running" in states:
        return "Running"
    if all(s == "succeeded" for s in states):
        return "Succeeded"
    if policy == "Always" or (policy == "OnFailure" and "stopped" in states):
        return "Running"
    return "Failed" if policy == "Never" or "failed" in states else "Running"


def qos_class(spec: Obj) -> str:
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    requests_any = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        if limits or requests:
            requests_any = True
        for name in ("cpu", "memory"):
            if name not in limits or str(requests.get(name, limits[name])) != str(limits[name]):
                guaranteed = False
    if not requests_any:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
