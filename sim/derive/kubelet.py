"""The kubelet's view of one pod as a time-free plan: what happens to each container, and why.

A plan answers "will this image pull, will the container be created, will its process run, crash or
exit, will its probes pass" from the pod spec, the objects it references and the world facts.
`sim.derive.timeline` then unrolls the plan over time (restarts, back-off, event counts).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import asdict, dataclass, field

from sim.derive import apiclient
from sim.derive.context import Cluster, Obj, go_duration
from sim.derive.dns import unresolved_host
from sim.derive.eviction import eviction_for
from sim.derive.names import stable_json
from sim.derive.storage import attach_error, volume_room
from sim.derive.world import behaviour, cpu_usage, effective_command, image_facts, memory_usage, owner_workload, pull
from sim.quantity import QuantityError, to_bytes
from sim.scenario.schema import Behaviour


@dataclass
class ContainerPlan:
    name: str
    image: str
    init: bool
    pull_always: bool
    pull_error: str | None = None
    missing_pull_secrets: list[str] = field(default_factory=list)
    config_error: str | None = None  # CreateContainerConfigError message
    start_error: str | None = None  # StartError message, exit 128
    exit_code: int | None = None  # None: the process keeps running
    exit_reason: str | None = None  # OOMKilled, Error, Completed
    run_seconds: float = 1.0
    logs: list[str] = field(default_factory=list)
    liveness: str | None = None  # the failure text of the probe that kills it (no "Liveness probe failed: " prefix)
    liveness_kill_after: float = 30.0
    liveness_threshold: int = 3
    liveness_period: float = 10.0
    kill_probe: str = "liveness"  # which probe kills it: liveness, or startup (its budget ran out)
    # Probes that fail while the process starts but give up before the threshold: (probe, message, count,
    # first offset, period) rendered as Unhealthy events of a container that then runs.
    warmup: list[tuple[str, str, int, float, float]] = field(default_factory=list)
    ready_logs: list[str] = field(default_factory=list)
    sigterm_exit_code: int = 0
    calls: list[str] = field(default_factory=list)
    readiness: str | None = None
    readiness_period: float = 10.0
    memory: int = 0
    cpu: int = 0

    @property
    def field_path(self) -> str:
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"


@dataclass
class PodPlan:
    node: str | None
    schedule_error: str = ""
    node_lost: bool = False
    mount_error: str | None = None
    mount_volumes: list[str] = field(default_factory=list)
    attach_error: str | None = None  # the attach-detach controller's FailedAttachVolume (Multi-Attach)
    evict_after: float | None = None  # seconds of running until the kubelet evicts it (local storage)
    evict_message: str = ""
    evict_pressure: bool = False  # evicted for node pressure (DisruptionTarget), not its own limit
    restart_policy: str = "Always"
    init: list[ContainerPlan] = field(default_factory=list)
    containers: list[ContainerPlan] = field(default_factory=list)

    def key(self) -> str:
        return stable_json(asdict(self))

    @property
    def faulty(self) -> bool:
        parts = self.init + self.containers
        # A process that exits is a fault where it is restarted (Always), or when it fails (a Job's pod).
        crashes = any(c.exit_code is not None and not c.init and (self.restart_policy == "Always" or c.exit_code != 0)
                      for c in parts)
        broken = any(c.pull_error or c.config_error or c.start_error or c.liveness or c.readiness for c in parts)
        return bool(self.schedule_error or self.mount_error or self.attach_error or crashes or broken)


def _data(obj: Obj | None) -> dict[str, str]:
    if obj is None:
        return {}
    out = dict(obj.get("data") or {})
    if obj.get("kind") == "Secret":
        decoded = {}
        for k, v in out.items():
            try:
                decoded[k] = base64.b64decode(v).decode()
            except (ValueError, UnicodeDecodeError):
                decoded[k] = v
        out = {**decoded, **(obj.get("stringData") or {})}
    else:
        out.update(obj.get("binaryData") or {})
    return out


def mount_error(cluster: Cluster, pod: Obj) -> tuple[str | None, list[str]]:
    namespace = pod["metadata"].get("namespace")
    failed: list[str] = []
    first: str | None = None
    for volume in pod["spec"].get("volumes") or []:
        sources = []
        if "configMap" in volume:
            sources.append(("ConfigMap", "configmap", volume["configMap"]))
        if "secret" in volume:
            sources.append(("Secret", "secret", {**volume["secret"], "name": volume["secret"].get("secretName")}))
        for proj in (volume.get("projected") or {}).get("sources") or []:
            if "configMap" in proj:
                sources.append(("ConfigMap", "configmap", proj["configMap"]))
            if "secret" in proj:
                sources.append(("Secret", "secret", proj["secret"]))
        for kind, word, src in sources:
            obj = cluster.get(kind, namespace, src.get("name") or "")
            message = None
            if obj is None and not src.get("optional"):
                message = f'{word} "{src.get("name")}" not found'
            elif obj is not None:
                data = _data(obj)
                for item in src.get("items") or []:
                    if item.get("key") not in data and not src.get("optional"):
                        message = f"{word} references non-existent config key: {item.get('key')}"
                        break
            if message:
                failed.append(volume["name"])
                first = first or f'MountVolume.SetUp failed for volume "{volume["name"]}" : {message}'
                break
    return first, failed


def _env(cluster: Cluster, namespace: str, container: Obj) -> tuple[dict[str, str], str | None]:
    """The container's environment and the first CreateContainerConfigError message, if any."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        for key, kind, word in (("configMapRef", "ConfigMap", "configmap"), ("secretRef", "Secret", "secret")):
            ref = source.get(key)
            if not ref:
                continue
            obj = cluster.get(kind, namespace, ref.get("name") or "")
            if obj is None:
                if not ref.get("optional"):
                    return env, f'{word} "{ref.get("name")}" not found'
                continue
            env.update({f"{source.get('prefix') or ''}{k}": v for k, v in _data(obj).items()})
    for var in container.get("env") or []:
        value_from = var.get("valueFrom") or {}
        for key, kind, word in (("configMapKeyRef", "ConfigMap", "configmap"), ("secretKeyRef", "Secret", "secret")):
            ref = value_from.get(key)
            if not ref:
                continue
            obj = cluster.get(kind, namespace, ref.get("name") or "")
            if obj is None:
                if ref.get("optional"):
                    break
                return env, f'{word} "{ref.get("name")}" not found'
            data = _data(obj)
            if ref.get("key") not in data:
                if ref.get("optional"):
                    break
                return env, f"couldn't find key {ref.get('key')} in {kind} {namespace}/{ref.get('name')}"
            env[var["name"]] = data[ref["key"]]
            break
        else:
            env[var["name"]] = str(var.get("value", "")) if "valueFrom" not in var else ""
    return env, None


def _non_root_error(pod: Obj, container: Obj, image_user: int | str) -> str | None:
    pod_ctx = pod["spec"].get("securityContext") or {}
    ctx = container.get("securityContext") or {}
    non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    if not non_root:
        return None
    where = f'(pod: "{pod["metadata"]["name"]}_{pod["metadata"].get("namespace")}({pod["metadata"].get("uid")})", container: {container["name"]})'
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    if user is not None:
        return f"container's runAsUser breaks non-root policy {where}" if int(user) == 0 else None
    if isinstance(image_user, str) and not image_user.isdigit():
        return f"container has runAsNonRoot and image has non-numeric user ({image_user}), cannot verify user is non-root {where}"
    if int(image_user) == 0:
        return f"container has runAsNonRoot and image will run as root {where}"
    return None


def _file_content(cluster: Cluster, pod: Obj, container: Obj, path: str) -> str | None:
    namespace = pod["metadata"].get("namespace")
    volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        base = mount["mountPath"].rstrip("/") + "/"
        if not path.startswith(base) and path != mount["mountPath"]:
            continue
        rel = mount.get("subPath") or path[len(base):]
        volume = volumes.get(mount["name"]) or {}
        for key, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
            if key not in volume:
                continue
            name = volume[key].get("name") or volume[key].get("secretName") or ""
            data = _data(cluster.get(kind, namespace, name))
            items = volume[key].get("items")
            if items:
                mapping = {i.get("path"): i.get("key") for i in items}
                return data.get(mapping.get(rel, ""), None) if rel in mapping else None
            return data.get(rel)
    return None


def _process(cluster: Cluster, pod: Obj, container: Obj, b: Behaviour, plan: ContainerPlan, command: list[str]) -> None:
    """Fill the plan's run outcome: exit code and reason, logs, probes, usage."""
    namespace = pod["metadata"].get("namespace") or "default"
    env, _ = _env(cluster, namespace, container)
    logs = list(b.logs)
    plan.run_seconds = max(1.0, b.startup_seconds + 1)
    working, peak = memory_usage(b, command)
    plan.memory, plan.cpu = working, cpu_usage(b)
    for req in b.requires_env:
        if req.name not in env:
            plan.logs = logs + (req.log or [f"Environment variable {req.name} is undefined"])
            plan.exit_code, plan.exit_reason = req.exit_code, "Completed" if req.exit_code == 0 else "Error"
            return
    for req in b.requires_files:
        content = _file_content(cluster, pod, container, req.path)
        problem = None
        if content is None:
            problem = [f"Error: cannot open {req.path}: No such file or directory"]
        elif req.format == "json":
            try:
                json.loads(content)
            except json.JSONDecodeError as exc:
                problem = [f"Loading configuration from {req.path}", f"json.decoder.JSONDecodeError: {exc}"]
        if problem:
            plan.logs = logs + (req.log or problem)
            plan.exit_code, plan.exit_reason = req.exit_code, "Completed" if req.exit_code == 0 else "Error"
            return
    for write in b.writes:
        room = volume_room(cluster, pod, container, write.path)
        if room is not None and room < to_bytes(write.size):
            plan.logs = logs + [write.log.format(path=write.path)]
            plan.exit_code, plan.exit_reason = write.exit_code, "Completed" if write.exit_code == 0 else "Error"
            return
    if b.resolve_hosts is not None:
        host = unresolved_host(cluster, namespace, command, pod)
        if host is not None:
            plan.logs = logs + [b.resolve_hosts.log.format(host=host)]
            code = b.resolve_hosts.exit_code
            plan.exit_code, plan.exit_reason = code, "Completed" if code == 0 else "Error"
            return
    if apiclient.refuse(cluster, pod, b.api_requests, plan, logs):
        return
    limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
    try:
        limit_bytes = to_bytes(limit) if limit is not None else None
    except QuantityError:
        limit_bytes = None
    if limit_bytes is not None and peak > limit_bytes:
        plan.logs, plan.exit_code, plan.exit_reason = logs, 137, "OOMKilled"
        return
    if b.exit is not None:
        plan.logs = logs + list(b.exit.logs)
        plan.exit_code = b.exit.code
        plan.exit_reason = "Completed" if b.exit.code == 0 else "Error"
        plan.run_seconds = max(1.0, b.exit.after)
        return
    plan.logs = logs


def _exec_failure(command: list[str], b: Behaviour, binaries: list[str] | None) -> str | None:
    """An exec probe's outcome: the runtime's error for a missing binary, else the world's exit code and output
    (pkg/probe/exec: a non-zero exit is a failure whose message is the command's output)."""
    if not command:
        return None
    if binaries is not None and command[0].rsplit("/", 1)[-1] not in binaries:
        return ("OCI runtime exec failed: exec failed: unable to start container process: exec: "
                f'"{command[0]}": executable file not found in $PATH: unknown')
    joined = " ".join(command)
    for outcome in b.exec_probes:
        if outcome.command in joined and outcome.exit_code != 0:
            return outcome.output
    return None


def probe_failure(probe: Obj | None, container: Obj, b: Behaviour, pod_ip: str, *, up: bool = True,
                  binaries: list[str] | None = None) -> str | None:
    """Why one run of this probe fails, worded as the kubelet's prober does (pkg/probe/{http,tcp,grpc,exec}),
    or None when it passes. `up` False: the process has not finished starting, so no port is open yet."""
    if not probe:
        return None
    if "exec" in probe:
        return _exec_failure(list((probe.get("exec") or {}).get("command") or []), b, binaries)
    ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or [] if p.get("name")}
    timeout = float(probe.get("timeoutSeconds") or 1)
    for kind in ("httpGet", "tcpSocket", "grpc"):
        action = probe.get(kind)
        if action is None:
            continue
        port = action.get("port")
        port = ports.get(port, port) if isinstance(port, str) and not port.isdigit() else int(port)
        host = action.get("host") or pod_ip
        listening = up and (b.listens is None or port in b.listens)
        slow = b.probe_seconds is not None and b.probe_seconds > timeout
        if kind == "grpc":
            address = f"{host}:{port}"
            if not listening:  # the prober dials with grpc.WithBlock until its timeout
                return f'timeout: failed to connect service "{address}" within {go_duration(timeout)}: context deadline exceeded'
            if slow:
                return f"timeout: health rpc did not complete within {go_duration(timeout)}"
            if b.grpc_health == "UNIMPLEMENTED":
                return ("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): "
                        "unknown service grpc.health.v1.Health")
            if b.grpc_health != "SERVING":
                return f'service unhealthy (responded with "{b.grpc_health}")'
            return None
        if not listening:
            if kind == "httpGet":
                scheme = (action.get("scheme") or "HTTP").lower()
                return f'Get "{scheme}://{host}:{port}{action.get("path") or "/"}": dial tcp {host}:{port}: connect: connection refused'
            return f"dial tcp {host}:{port}: connect: connection refused"
        if kind == "httpGet" and slow:
            scheme = (action.get("scheme") or "HTTP").lower()
            return (f'Get "{scheme}://{host}:{port}{action.get("path") or "/"}": context deadline exceeded '
                    "(Client.Timeout exceeded while awaiting headers)")
        if kind == "httpGet" and b.http_paths is not None and (action.get("path") or "/") not in b.http_paths:
            return "HTTP probe failed with statuscode: 404"
    return None


@dataclass(frozen=True)
class _Timing:
    """A probe's schedule: checks at delay + k × period (k = 1, 2, ...); `threshold` failures in a row act."""

    delay: float
    period: float
    threshold: int

    @classmethod
    def of(cls, probe: Obj) -> _Timing:
        return cls(float(probe.get("initialDelaySeconds") or 0), float(probe.get("periodSeconds") or 10),
                   int(probe.get("failureThreshold") or 3))

    @property
    def budget(self) -> float:
        """When the threshold-th failure in a row acts (liveness/startup: the kill)."""
        return self.delay + self.period * self.threshold

    def failures_before(self, seconds: float) -> int:
        """Checks that run before the process is up at `seconds` (each of them fails)."""
        return max(0, math.ceil((seconds - self.delay) / self.period) - 1) if seconds > self.delay else 0


def _plan_probes(container: Obj, b: Behaviour, plan: ContainerPlan, pod_ip: str, binaries: list[str] | None) -> None:
    """The kubelet's probe workers over the container's first run. The process answers only after
    `startup_seconds`; a startupProbe holds back liveness and readiness until it succeeds and kills the
    container when failureThreshold × periodSeconds (after initialDelaySeconds) runs out first; without one,
    a liveness probe whose threshold is reached before the process is up kills it."""
    up_at = b.startup_seconds
    live, ready, startup = (container.get(k) for k in ("livenessProbe", "readinessProbe", "startupProbe"))
    started_at = 0.0
    if startup:
        timing = _Timing.of(startup)
        steady = probe_failure(startup, container, b, pod_ip, binaries=binaries)
        if steady or up_at > timing.budget:
            plan.liveness = steady or probe_failure(startup, container, b, pod_ip, up=False, binaries=binaries)
            plan.kill_probe = "startup"
            plan.liveness_period, plan.liveness_threshold = timing.period, timing.threshold
            plan.liveness_kill_after = timing.budget
            return
        if count := timing.failures_before(up_at):
            refused = probe_failure(startup, container, b, pod_ip, up=False, binaries=binaries)
            if refused is not None:
                plan.warmup.append(("Startup", refused, count, timing.delay + timing.period, timing.period))
        started_at = timing.delay + timing.period * (timing.failures_before(up_at) + 1)
    if live:
        timing = _Timing.of(live)
        plan.liveness_period, plan.liveness_threshold = timing.period, timing.threshold
        plan.liveness = probe_failure(live, container, b, pod_ip, binaries=binaries)
        plan.liveness_kill_after = max(started_at, timing.delay) + timing.period * timing.threshold
        if plan.liveness is None and not startup:
            refused = probe_failure(live, container, b, pod_ip, up=False, binaries=binaries)
            if refused is not None and up_at > timing.budget:
                plan.liveness, plan.liveness_kill_after = refused, timing.budget
            elif refused is not None and (count := timing.failures_before(up_at)):
                plan.warmup.append(("Liveness", refused, count, timing.delay + timing.period, timing.period))
    if plan.liveness is not None:
        return
    if ready:
        timing = _Timing.of(ready)
        plan.readiness = probe_failure(ready, container, b, pod_ip, binaries=binaries)
        plan.readiness_period = timing.period
        refused = probe_failure(ready, container, b, pod_ip, up=False, binaries=binaries)
        if plan.readiness is None and not startup and refused is not None and (count := timing.failures_before(up_at)):
            plan.warmup.append(("Readiness", refused, count, timing.delay + timing.period, timing.period))
    plan.ready_logs = list(b.ready_logs)


def plan_container(
    cluster: Cluster, pod: Obj, container: Obj, *, init: bool, pod_ip: str, credentials: tuple[bool, list[str]]
) -> ContainerPlan:
    world = cluster.scenario.world
    namespace = pod["metadata"].get("namespace") or "default"
    image = container.get("image", "")
    tag = image.rsplit("/", 1)[-1]
    policy = container.get("imagePullPolicy") or ("Always" if ":" not in tag or tag.endswith(":latest") else "IfNotPresent")
    plan = ContainerPlan(name=container["name"], image=image, init=init, pull_always=policy == "Always")
    have_credentials, missing = credentials
    plan.missing_pull_secrets = missing
    result = pull(world, image, have_credentials)
    if not result.ok:
        plan.pull_error = result.error
        return plan
    facts = image_facts(world, image)
    _, config_error = _env(cluster, namespace, container)
    config_error = config_error or _non_root_error(pod, container, facts.user if facts else 0)
    if config_error:
        plan.config_error = config_error
        return plan
    command = effective_command(container, facts)
    if command and facts is not None and facts.binaries is not None:
        binary = command[0]
        if binary.rsplit("/", 1)[-1] not in facts.binaries:
            plan.start_error = (
                "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
                f'runc create failed: unable to start container process: exec: "{binary}": executable file '
                "not found in $PATH: unknown"
            )
            return plan
    b = behaviour(world, namespace, owner_workload(cluster, pod), container)
    _process(cluster, pod, container, b, plan, command)
    plan.sigterm_exit_code = b.sigterm_exit_code
    plan.calls = list(b.calls)
    if plan.exit_code is None and not init:
        _plan_probes(container, b, plan, pod_ip, facts.binaries if facts is not None else None)
    return plan


def pull_credentials(cluster: Cluster, pod: Obj) -> tuple[bool, list[str]]:
    namespace = pod["metadata"].get("namespace")
    names = [s.get("name") for s in pod["spec"].get("imagePullSecrets") or [] if s.get("name")]
    sa = cluster.get("ServiceAccount", namespace, pod["spec"].get("serviceAccountName") or "default")
    names += [s.get("name") for s in (sa or {}).get("imagePullSecrets") or [] if s.get("name")]
    found = [n for n in names if cluster.get("Secret", namespace, n) is not None]
    return bool(found), [n for n in names if n not in found]


def plan_pod(cluster: Cluster, pod: Obj, node: str | None, schedule_error: str, pod_ip: str, node_lost: bool) -> PodPlan:
    plan = PodPlan(node=node, schedule_error=schedule_error, node_lost=node_lost)
    plan.restart_policy = pod["spec"].get("restartPolicy") or "Always"
    if node is None:
        return plan
    plan.attach_error, plan.mount_volumes = attach_error(cluster, pod)
    if plan.attach_error:
        return plan
    plan.mount_error, plan.mount_volumes = mount_error(cluster, pod)
    if plan.mount_error:
        return plan
    credentials = pull_credentials(cluster, pod)
    for c in pod["spec"].get("initContainers") or []:
        plan.init.append(plan_container(cluster, pod, c, init=True, pod_ip=pod_ip, credentials=credentials))
    for c in pod["spec"].get("containers") or []:
        plan.containers.append(plan_container(cluster, pod, c, init=False, pod_ip=pod_ip, credentials=credentials))
    if not node_lost and all(c.exit_code is None and not (c.pull_error or c.config_error or c.start_error)
                             for c in plan.containers):
        eviction = eviction_for(cluster, pod)
        if eviction is not None:
            plan.evict_after, plan.evict_message, plan.evict_pressure = eviction.after, eviction.message, eviction.pressure
    return plan

