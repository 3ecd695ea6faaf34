"""The scenario file's schema: pydantic models for what a user applied, the world, alerts, GitOps and `expect`.

Every model forbids unknown fields so typos fail; `Scenario` also checks its manifests' structure
(apiVersion, kind, name, quantities, no hand-written status). The format is documented in sim/README.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from sim.quantity import QuantityError, parse_quantity


class ScenarioError(Exception):
    """A scenario file that cannot be used; str() names the file and the field path."""


# -- scalar types ---------------------------------------------------------------------------------


def _quantity(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"invalid quantity {value!r}")
    try:
        parse_quantity(value)
    except QuantityError as exc:
        raise ValueError(str(exc)) from None
    return str(value)


_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?$")


def parse_duration(value: Any) -> float:
    """Seconds from 90, "90s", "15m", "1h30m"."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value).strip())
    if not match or not any(match.groups()):
        raise ValueError(f"invalid duration {value!r} (use e.g. 90s, 15m, 1h30m)")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


Quantity = Annotated[str, BeforeValidator(_quantity)]
Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- nodes ----------------------------------------------------------------------------------------


class Taint(_Model):
    key: str
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class NodeCondition(_Model):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = ""
    message: str = ""


class Resources(_Model):
    cpu: Quantity = "4"
    memory: Quantity = "8Gi"
    pods: int = 110
    ephemeral_storage: Quantity = Field("100Gi", alias="ephemeral-storage")
    # Extended resources by their domain-prefixed name (`nvidia.com/gpu: 1`), written beside the others.
    extended: dict[str, Quantity] = {}

    @model_validator(mode="before")
    @classmethod
    def _collect_extended(cls, data: Any) -> Any:
        if isinstance(data, dict):
            named = {k: v for k, v in data.items() if isinstance(k, str) and "/" in k}
            if named:
                data = {k: v for k, v in data.items() if k not in named}
                data["extended"] = {**(data.get("extended") or {}), **named}
        return data


class NodeAddress(_Model):
    type: Literal["InternalIP", "ExternalIP", "Hostname", "InternalDNS", "ExternalDNS"]
    address: str


class NodeFacts(_Model):
    """One node. `kubelet_stopped` is the usual failure: Ready=Unknown and the unreachable taints."""

    name: str
    labels: dict[str, str] = {}
    taints: list[Taint] = []
    allocatable: Resources = Resources()
    capacity: Resources | None = None
    conditions: list[NodeCondition] = []
    unschedulable: bool = False
    kubelet_stopped: bool = False
    stopped_ago: Duration | None = None  # when the kubelet stopped; default: when the fault began
    memory_used: Quantity | None = None  # system + non-pod usage for NodeMetrics
    # Bytes used on the node's root filesystem besides pods' own writable layers, logs and emptyDirs
    # (images, system logs): with the pods' usage it drives DiskPressure (nodefs.available < 10%).
    disk_used: Quantity | None = None
    cpu_used: Quantity | None = None
    addresses: list[NodeAddress] = []  # status.addresses; default InternalIP 172.18.0.N and Hostname


def default_nodes() -> list[NodeFacts]:
    return [NodeFacts(name=f"worker-{i}") for i in (1, 2, 3)]


# -- world: what processes do ---------------------------------------------------------------------


class EnvRequirement(_Model):
    """The process needs this env var; without it, it logs `log` and exits with `exit_code`."""

    name: str
    log: list[str] | None = None  # default: "Environment variable NAME is undefined"
    exit_code: int = 1


class FileRequirement(_Model):
    """The process reads this file (from a mounted ConfigMap/Secret) and fails without it or on bad content."""

    path: str
    format: Literal["any", "json"] = "any"
    log: list[str] | None = None  # default: a message naming the file (and the parse error)
    exit_code: int = 1


class MemoryFromArgs(_Model):
    """Memory use read from the command line, e.g. stress: `--vm 2 --vm-bytes 200M` uses 2 x 200M."""

    flag: str
    count_flag: str | None = None
    base: Quantity = "2Mi"


class Exit(_Model):
    """The process exits on its own after `after` seconds with `code`, printing `logs`."""

    code: int = 1
    after: Duration = 2
    logs: list[str] = []


class ResolveHosts(_Model):
    """The process fetches the URLs on its command line; a host that does not resolve makes it fail."""

    exit_code: int = 6
    log: str = "curl: (6) Could not resolve host: {host}"


class ExecProbeOutcome(_Model):
    """What an exec probe's command does in this container: its exit code and output (the kubelet's message)."""

    command: str  # the probe's command joined by spaces, or a part of it (`pg_isready`)
    exit_code: int = 1
    output: str = ""


class VolumeWrite(_Model):
    """The process writes `size` more under `path` (a mounted PersistentVolumeClaim) while it runs; when the
    volume has less room left (capacity minus `world.volumes` usage) it logs `log` and exits with `exit_code`."""

    path: str
    size: Quantity
    log: str = "write {path}: no space left on device"
    exit_code: int = 1


class ApiRequest(_Model):
    """A request the process makes to the Kubernetes API with its ServiceAccount's token (sim.derive.apiclient)."""

    verb: str  # get, list, watch, create, ...
    resource: str  # plural, `pods/log` for a subresource
    group: str = ""
    namespace: str | None = None  # default: the pod's; "" for a cluster-wide request
    exit_code: int | None = 1  # the process exits so when refused; None: it logs the error and keeps running
    log: str = 'level=fatal msg="{verb} {resource} failed" error="{error}"'


class Behaviour(_Model):
    """What a running container does. Unset fields mean 'healthy and unremarkable'."""

    memory: Quantity | None = None  # working set while running
    memory_peak: Quantity | None = None  # OOMKilled when this (default: memory) exceeds the limit
    memory_from_args: MemoryFromArgs | None = None
    cpu: Quantity | None = None
    listens: list[int] | None = None  # ports open; None: every containerPort and every probe port
    http_paths: list[str] | None = None  # paths answering 200; None: every path; others answer 404
    requires_env: list[EnvRequirement] = []
    requires_files: list[FileRequirement] = []
    resolve_hosts: ResolveHosts | None = None  # URLs in the command line must name hosts that resolve
    calls: list[str] = []  # URLs the process requests while running; failures are logged (sim.derive.traffic)
    api_requests: list[ApiRequest] = []  # Kubernetes API requests made with the pod's ServiceAccount (RBAC)
    exit: Exit | None = None
    logs: list[str] = []  # printed at start, before any failure
    startup_seconds: Duration = 1  # until the process listens and answers probes (ports are closed before)
    ready_logs: list[str] = []  # printed once the process is up (after startup_seconds); never if killed before
    exec_probes: list[ExecProbeOutcome] = []  # exec probe commands that fail here (others exit 0)
    grpc_health: Literal["SERVING", "NOT_SERVING", "UNKNOWN", "SERVICE_UNKNOWN", "UNIMPLEMENTED"] = "SERVING"
    probe_seconds: Duration | None = None  # how long the app takes to answer an HTTP/gRPC probe
    writes: list[VolumeWrite] = []  # space the process needs on its volumes
    # Bytes the container writes to its writable layer, logs and emptyDirs (the kubelet's ephemeral-storage
    # accounting), reached linearly over `ephemeral_fill` seconds of running.
    ephemeral_storage: Quantity | None = None
    ephemeral_fill: Duration = 600
    sigterm_exit_code: int = 0  # exit code when the kubelet stops it (liveness failure)


class ImageFacts(Behaviour):
    """A repository (`nginx`, `registry.example.com/team/api`) or one tag of it (`nginx:1.27`)."""

    tags: list[str] | None = None  # the tags that exist; None: every tag
    private: bool = False  # pulls need credentials
    user: int | str = 0  # the UID (or user name) the image runs as
    binaries: list[str] | None = None  # executables in the image; None: anything
    entrypoint: list[str] | None = None
    size: int = 50_000_000


class ContainerFacts(Behaviour):
    """Behaviour for containers matching every given selector; the first match wins over image facts."""

    namespace: str | None = None
    workload: str | None = None  # the owning Deployment/StatefulSet/DaemonSet/Job/Pod name
    container: str | None = None
    image: str | None = None
    command: str | None = None  # basename of the effective command[0]


class ProvisionerFacts(_Model):
    error: str | None = None  # ProvisioningFailed message; None: provisioning works


class PreviousRevision(_Model):
    """A Deployment's earlier template (its current one with `patch` applied), for rollout history."""

    deployment: str
    namespace: str = "default"
    patch: dict[str, Any]


class VolumeUsage(_Model):
    """What is already stored on a claim's volume (kubelet_volume_stats_used_bytes)."""

    namespace: str = "default"
    claim: str
    used: Quantity


class World(_Model):
    fault_age: Duration = 1800  # how long ago the scenario's objects were applied
    volumes: list[VolumeUsage] = []
    images: dict[str, ImageFacts] = {}
    strict_images: bool = False  # images absent from `images` do not exist
    containers: list[ContainerFacts] = []
    provisioners: dict[str, ProvisionerFacts] = {}
    external_hosts: list[str] = []  # names outside the cluster that DNS resolves (Services always do)
    previous_revisions: list[PreviousRevision] = []


# -- overrides: what the controller does not derive -----------------------------------------------


class ObjectRef(_Model):
    kind: str
    namespace: str | None = None
    name: str


class EventOverride(_Model):
    """A raw event. `involved.name` may name a workload; it then attaches to that workload's first pod."""

    involved: ObjectRef
    reason: str
    message: str
    type: Literal["Normal", "Warning"] = "Warning"
    count: int = 1
    source: str = "kubelet"
    field_path: str | None = None
    ago: Duration = 60


class LogOverride(_Model):
    namespace: str = "default"
    pod: str  # a pod name or the name of the workload that owns it
    container: str | None = None
    previous: bool = False
    lines: list[str]
    replace: bool = False


class StatusOverride(_Model):
    """Merged into the derived status after every reconcile (k8sgpt-style hand-written status)."""

    kind: str
    namespace: str | None = None
    name: str
    status: dict[str, Any]


class Overrides(_Model):
    events: list[EventOverride] = []
    logs: list[LogOverride] = []
    status: list[StatusOverride] = []


# -- alerts, gitops, expect -----------------------------------------------------------------------


class Alert(_Model):
    """One entry of an Alertmanager v4 webhook payload's `alerts[]`."""

    status: Literal["firing", "resolved"] = "firing"
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    startsAt: str | None = None
    endsAt: str | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None
    # Unset: a kubernetes-mixin rule fires it (the honesty check runs the real rules on the sim's metrics to
    # prove it). "team": the mixin has no rule for this fault; `source_reason` says why and what rule a team
    # adds to get this alert. Both stay out of model_dump(), so out of every payload an agent sees.
    source: Literal["team"] | None = Field(None, exclude=True)
    source_reason: str | None = Field(None, exclude=True)

    @field_validator("labels")
    @classmethod
    def _has_alertname(cls, labels: dict[str, str]) -> dict[str, str]:
        if "alertname" not in labels:
            raise ValueError("an alert needs labels.alertname")
        return labels

    @model_validator(mode="after")
    def _team_alert_says_why(self) -> Alert:
        if self.source == "team" and not (self.source_reason or "").strip():
            raise ValueError("source: team needs source_reason (why the kubernetes-mixin has no alert for this "
                             "fault, and the rule a team would add)")
        if self.source_reason and self.source != "team":
            raise ValueError("source_reason is only for source: team")
        return self


class GitOps(_Model):
    files: dict[str, str] = {}


class Fix(_Model):
    """The known fix: a file in the GitOps tree, and the change to the live object that it amounts to."""

    file: str
    target: ObjectRef | None = None  # the object the change lands on; default: expect.resource
    field: str | None = None  # e.g. spec.template.spec.containers[memory-hog].resources.limits.memory
    value: Any = None  # the canonical new value
    accept: str | None = None  # which other values are right, in words
    patch: dict[str, Any] | None = None  # strategic-merge patch for `target`
    patch_type: Literal["strategic", "merge"] = "strategic"
    recreate: bool = False  # immutable field: delete the object and create the patched one
    create: list[dict[str, Any]] = []  # objects the fix adds


class Expect(_Model):
    category: str
    healthy: bool = False
    resource: ObjectRef | None = None
    root_cause: str | None = None
    fix: Fix | None = None
    escalate: bool = False  # no GitOps fix exists: the right answer is to hand over to a human

    @field_validator("category")
    @classmethod
    def _word(cls, category: str) -> str:
        # Plain text here: the vocabulary is the agents' (agents/taxonomy.py); the evaluator and a
        # conformance test check the name against it, so the simulator stays free of our code.
        if not re.fullmatch(r"[a-z][a-z0-9_]*", category):
            raise ValueError(f"{category!r} is not a category name (lower-case words joined by '_')")
        return category

    @model_validator(mode="after")
    def _consistent(self) -> Expect:
        if self.healthy != (self.category == "healthy"):
            raise ValueError("healthy: true goes with category 'healthy' and only with it")
        if not self.healthy and self.resource is None:
            raise ValueError("resource is required unless the scenario is healthy")
        return self


# -- the scenario ---------------------------------------------------------------------------------


class Scenario(_Model):
    name: str
    description: str
    kubernetes_version: str = "v1.31.4"
    nodes: list[NodeFacts] = Field(default_factory=default_nodes)
    objects: list[dict[str, Any]] = []
    world: World = World()
    overrides: Overrides = Overrides()
    alerts: list[Alert] = []
    gitops: GitOps = GitOps()
    expect: Expect
    # Further faults in the same scenario (two broken workloads in one namespace), each judged like `expect`.
    more_faults: list[Expect] = []
    _path: Path | None = PrivateAttr(default=None)

    @field_validator("objects")
    @classmethod
    def _manifests(cls, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, obj in enumerate(objects):
            for problem in _manifest_problems(obj):
                raise ValueError(f"objects[{index}]{problem}")
        return objects

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ValueError("nodes: node names must be unique")
        fix = self.expect.fix
        if fix is not None and self.gitops.files and fix.file not in self.gitops.files:
            raise ValueError(f"expect.fix.file: {fix.file!r} is not a file of gitops.files")
        return self

    @property
    def path(self) -> Path | None:
        """The file the scenario was loaded from, if any."""
        return self._path


_TEMPLATE_PATHS = (
    ("spec",),
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
)


def _manifest_problems(obj: Any) -> list[str]:
    """Structural problems of one manifest, each as '<.field.path>: <what is wrong>'."""
    if not isinstance(obj, dict):
        return [": a manifest must be a mapping"]
    problems = []
    for key in ("apiVersion", "kind"):
        if not isinstance(obj.get(key), str) or not obj.get(key):
            problems.append(f".{key}: field required")
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        problems.append(".metadata.name: field required")
    if "status" in obj:
        problems.append(".status: objects are spec only; put hand-written status in overrides.status")
    for path in _TEMPLATE_PATHS:
        spec: Any = obj
        for part in path:
            spec = spec.get(part) if isinstance(spec, dict) else None
        if not isinstance(spec, dict):
            continue
        dotted = "." + ".".join(path)
        for group in ("initContainers", "containers"):
            for ci, container in enumerate(spec.get(group) or []):
                resources = (container or {}).get("resources") or {}
                for section in ("limits", "requests"):
                    for res, value in (resources.get(section) or {}).items():
                        try:
                            _quantity(value)
                        except ValueError as exc:
                            problems.append(f"{dotted}.{group}[{ci}].resources.{section}.{res}: {exc}")
    if obj.get("kind") == "ResourceQuota":
        for res, value in ((obj.get("spec") or {}).get("hard") or {}).items():
            try:
                _quantity(value)
            except ValueError as exc:
                problems.append(f".spec.hard.{res}: {exc}")
    return problems
