"""The generalisation suite: each shipped scenario turned into variants of the same fault, reproducible from a
seed, so the scoreboard measures the fault class and not the shipped wording.

A variant applies, on top of new names (namespace, workload, containers, image repositories), a random
subset of the transforms that apply to its scenario:
- `owner`: the workload becomes a StatefulSet, a DaemonSet, a bare Pod, a Job or a CronJob (its manifest in
  the GitOps repo too, and the fix re-rooted onto it). A Job's or CronJob's process does its work and exits 0
  once the fault is gone, and its alert becomes one kube-prometheus fires for a Job (KubeJobFailed) or its pod;
- `sidecar` / `init`: a healthy sidecar or init container joins the pod;
- `alert`: another alert kube-prometheus fires for the same fault replaces the scenario's, chosen among
  those whose condition holds on the seeded cluster (`app/eval/symptoms.py`);
- `noise`: an unrelated workload in the namespace with an old, unrelated Warning event;
- `overlay`: the manifests become a kustomize base rendered through an overlay that adds annotations.

Pod-scoped alerts are bound to a real pod of the variant's workload after seeding (a renamed or re-owned
workload has other pod names), so every variant starts from alerts a real Prometheus could have fired.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from app.eval.symptoms import CONDITIONS, Scope, alert_scope, owned_by
from sim.derive.world import behaviour, matching_entry
from sim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario, shipped_scenarios
from sim.store import ObjectStore

Data = dict[str, Any]

NAMES = ["orion", "vega", "lyra", "carina", "draco", "hydra", "pavo", "tucana", "volans", "lepus", "aquila",
         "cetus", "dorado", "fornax", "grus", "indus", "lupus", "mensa", "norma", "octans", "pictor", "sextans"]
KEEP = {"default", "kube-system", "kube-public", "standard", "main", "app", "apps", "http", "data", "true",
        "config", "cache", "base", "prod"}
# Categories whose fault lives in the pod template, so it survives a change of owner.
OWNER_CATEGORIES = {"oom_killed", "bad_command", "missing_config", "image_pull", "probe_failure",
                    "security_context", "invalid_config"}
TEMPLATE_PATH = {"Deployment": "spec.template.spec", "StatefulSet": "spec.template.spec",
                 "DaemonSet": "spec.template.spec", "Pod": "spec", "Job": "spec.template.spec",
                 "CronJob": "spec.jobTemplate.spec.template.spec"}
OWNER_KINDS = ["StatefulSet", "DaemonSet", "Pod", "Job", "CronJob"]
# How long a Job's process works before it exits 0, when nothing in the scenario says otherwise.
JOB_RUN_TIME = "45s"
# Alerts about a workload, by the owner kind they name, and the label that names it.
WORKLOAD_ALERTS = {
    "Deployment": (("KubeDeploymentReplicasMismatch", "KubeDeploymentRolloutStuck"), "deployment"),
    "StatefulSet": (("KubeStatefulSetReplicasMismatch", "KubeStatefulSetUpdateNotRolledOut"), "statefulset"),
    "DaemonSet": (("KubeDaemonSetRolloutStuck", "KubeDaemonSetNotScheduled"), "daemonset"),
    "Pod": ((), ""),
    "Job": (("KubeJobFailed",), "job_name"),
    "CronJob": (("KubeJobFailed",), "job_name"),  # names the Job the CronJob created, bound after seeding
}
POD_ALERTS = ("KubePodCrashLooping", "KubePodNotReady", "KubeContainerWaiting")


@dataclass
class Variant:
    name: str
    source: str
    transforms: list[str]
    scenario: Scenario


@dataclass
class _Work:
    data: Data
    rng: random.Random
    applied: list[str] = field(default_factory=list)
    alert_faults: list[int] = field(default_factory=list)  # which fault each alert is about (0: `expect`)

    @property
    def expect(self) -> Data:
        return self.data["expect"]


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.width = 4096
    return y


def _dump_docs(docs: list[Any]) -> str:
    out = StringIO()
    _yaml().dump_all(docs, out)
    return out.getvalue()


def _load_docs(text: str) -> list[Any]:
    return [d for d in _yaml().load_all(text)]


def _plain(value: Any) -> Any:
    """ruamel's round-trip containers as plain dicts and lists (what pydantic and json expect)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# -- renaming ---------------------------------------------------------------------------------------------


def _tokens(data: Data) -> list[str]:
    """Names another author would choose differently: namespace, workloads, containers, image repositories."""
    found: list[str] = []
    resource = data["expect"].get("resource") or {}
    found += [resource.get("namespace"), resource.get("name")]
    for obj in data.get("objects") or []:
        meta = obj.get("metadata", {})
        # ConfigMap, Secret and issuer names keep theirs: a wrong reference and the object it meant are
        # related by their names (a typo, a rename), which is the fault itself.
        if obj.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Namespace", "Service", "Pod"):
            found += [meta.get("name"), meta.get("namespace")]
        for container in _containers(obj):
            found.append(container.get("name"))
            found.append(str(container.get("image", "")).split("@")[0].rsplit(":", 1)[0].rsplit("/", 1)[-1])
    unique: list[str] = []
    for token in found:
        if token and token not in KEEP and token not in unique and len(token) >= 3:
            unique.append(token)
    return sorted(unique, key=len, reverse=True)


def rename(work: _Work) -> None:
    """New names everywhere the old ones appear (manifests, world facts, alerts, the repository, `expect`)."""
    y = _yaml()
    out = StringIO()
    y.dump(work.data, out)
    text = out.getvalue()
    names = work.rng.sample(NAMES, k=min(len(NAMES), 12))
    for i, token in enumerate(_tokens(work.data)):
        new = f"{names[i % len(names)]}-{work.rng.randrange(10, 99)}"
        text = re.sub(rf"(?<![\w-]){re.escape(token)}(?![\w-])", new, text)
    work.data = _plain(y.load(text))
    work.applied.append("rename")


# -- the workload and its pod template -------------------------------------------------------------------


def _template(obj: Data) -> Data | None:
    found: Any = obj
    for key in TEMPLATE_PATH.get(str(obj.get("kind")), "spec.template.spec").split("."):
        found = (found or {}).get(key)
    return found


def _containers(obj: Data) -> list[Data]:
    template = _template(obj) or {}
    return list(template.get("containers") or []) + list(template.get("initContainers") or [])


def _workload(data: Data) -> Data | None:
    ref = data["expect"].get("resource") or {}
    return next((o for o in data.get("objects") or [] if o.get("kind") == ref.get("kind")
                 and o.get("metadata", {}).get("name") == ref.get("name")), None)


def _repo_docs(data: Data, kind: str, name: str) -> list[tuple[str, list[Any], int]]:
    """(file, its documents, index) of each repository document that declares kind/name."""
    found = []
    for path, text in (data.get("gitops") or {}).get("files", {}).items():
        if not path.endswith((".yaml", ".yml")):
            continue
        docs = _load_docs(text)
        for index, doc in enumerate(docs):
            if isinstance(doc, dict) and doc.get("kind") == kind and (doc.get("metadata") or {}).get("name") == name:
                found.append((path, docs, index))
    return found


def _edit_workload(work: _Work, edit: Callable[[Any], Any]) -> bool:
    """Apply `edit` to the live workload and to its manifest in the repository; False when either is missing."""
    ref = work.expect.get("resource") or {}
    live = _workload(work.data)
    docs = _repo_docs(work.data, ref.get("kind", ""), ref.get("name", ""))
    if live is None or not docs:
        return False
    index = work.data["objects"].index(live)
    work.data["objects"][index] = _plain(edit(copy.deepcopy(live)))
    for path, file_docs, doc_index in docs:
        file_docs[doc_index] = edit(file_docs[doc_index])
        work.data["gitops"]["files"][path] = _dump_docs(file_docs)
    return True


def _reowned(obj: Any, kind: str) -> Any:
    name = obj["metadata"]["name"]
    template = obj["spec"]["template"]
    if kind in ("Job", "CronJob"):
        # A batch pod runs to completion: it is not restarted in place, the Job makes a new one.
        template["spec"]["restartPolicy"] = "Never"
        job = {"backoffLimit": 3, "template": template}
        obj["apiVersion"], obj["kind"] = "batch/v1", kind
        obj["spec"] = job if kind == "Job" else {"schedule": "*/20 * * * *", "jobTemplate": {"spec": job}}
        return obj
    if kind == "Pod":
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": dict(obj["metadata"]), "spec": template["spec"]}
        pod["metadata"]["labels"] = {**(obj["metadata"].get("labels") or {}), **(template.get("metadata", {}).get("labels") or {})}
        return pod
    spec: dict[str, Any] = {"selector": obj["spec"]["selector"], "template": template}
    if kind == "StatefulSet":
        spec = {"serviceName": name, "replicas": obj["spec"].get("replicas", 1), **spec}
    obj["apiVersion"], obj["kind"] = "apps/v1", kind
    obj["spec"] = spec
    return obj


def change_owner(work: _Work) -> None:
    ref = work.expect.get("resource") or {}
    if ref.get("kind") != "Deployment" or work.expect.get("category") not in OWNER_CATEGORIES \
            or (work.data.get("world") or {}).get("previous_revisions"):
        return
    if any(o.get("kind") == "HorizontalPodAutoscaler" for o in work.data.get("objects") or []):
        return
    # A probe on a run-to-completion pod is rare and changes what the fault does; batch owners skip them.
    # A Service in front of the workload means it serves: it stays a long-running kind.
    batch_ok = work.expect.get("category") != "probe_failure" and not _served(work.data, _workload(work.data))
    kind = work.rng.choice(OWNER_KINDS if batch_ok else OWNER_KINDS[:3])
    if not _edit_workload(work, lambda obj: _reowned(obj, kind)):
        return
    if kind in ("Job", "CronJob"):
        _runs_to_completion(work, _workload(work.data) or {})
    old_path, new_path = TEMPLATE_PATH["Deployment"], TEMPLATE_PATH[kind]
    ref["kind"] = kind
    fix = work.expect.get("fix")
    if fix:
        target = fix.get("target")
        if target is None or (target.get("kind") == "Deployment" and target.get("name") == ref.get("name")):
            fix.pop("target", None)
            if fix.get("field", "").startswith(old_path):
                fix["field"] = new_path + fix["field"][len(old_path):]
            template_patch = (fix.get("patch") or {}).get("spec", {}).get("template")
            if template_patch is not None and kind == "Pod":
                fix["patch"] = {"spec": template_patch.get("spec", {})}
            elif template_patch is not None and kind == "CronJob":
                fix["patch"] = {"spec": {"jobTemplate": {"spec": {"template": template_patch}}}}
            if kind in ("Pod", "Job"):
                fix["recreate"] = True  # a Pod's spec and a Job's template are immutable
    alerts = []
    for alert in work.data.get("alerts") or []:
        labels = alert.get("labels") or {}
        mine = labels.get("deployment") == ref["name"] or str(labels.get("pod", "")).startswith(f"{ref['name']}-")
        mapped = _alert_for_owner(alert, kind, ref["name"]) if mine else alert
        if mapped not in alerts:  # a CrashLooping and a NotReady alert both become the Job's one
            alerts.append(mapped)
    work.data["alerts"] = alerts
    work.applied.append(f"owner={kind}")


def _served(data: Data, workload: Data | None) -> bool:
    """Does a Service select the workload's pods?"""
    labels = ((workload or {}).get("spec", {}).get("template", {}).get("metadata") or {}).get("labels") or {}
    return any(o.get("kind") == "Service" and (selector := (o.get("spec") or {}).get("selector"))
               and all(labels.get(k) == v for k, v in selector.items()) for o in data.get("objects") or [])


def _runs_to_completion(work: _Work, workload: Data) -> None:
    """A batch container does its work and exits 0 (unless the scenario already says how it ends): the fault
    is what keeps the Job from completing."""
    world = parse_scenario(work.data).world
    namespace = workload.get("metadata", {}).get("namespace") or "default"
    name = workload.get("metadata", {}).get("name", "")
    entries = work.data.setdefault("world", {}).setdefault("containers", [])
    for container in (_template(workload) or {}).get("containers") or []:
        if behaviour(world, namespace, name, container).exit is not None:
            continue
        index = matching_entry(world, namespace, name, container)
        if index is None:
            entries.append({"workload": name, "container": container["name"],
                            "exit": {"code": 0, "after": JOB_RUN_TIME}})
        elif "exit" not in entries[index]:
            entries[index]["exit"] = {"code": 0, "after": JOB_RUN_TIME}


def _alert_for_owner(alert: Data, kind: str, name: str) -> Data:
    labels = dict(alert.get("labels") or {})
    if kind in ("Job", "CronJob"):
        # Pods of a Job are not restarted in place: KubePodCrashLooping never fires for them. The alert
        # is bound to what does fire once the cluster is seeded (`bind_alerts`).
        for label in ("deployment", "container", "reason"):
            labels.pop(label, None)
        labels["alertname"] = "KubeJobFailed"
        labels["job_name"] = name
        labels.pop("pod", None)
        return {"labels": labels, "annotations": {"summary": "Job failed to complete."}}
    if labels.get("deployment"):
        labels.pop("deployment")
        alerts, label = WORKLOAD_ALERTS[kind]
        if not alerts:
            labels["alertname"] = "KubePodNotReady"
        else:
            labels["alertname"] = alerts[0] if "Mismatch" in labels["alertname"] else alerts[-1]
            labels[label] = name
    return {**alert, "labels": labels}


SIDECAR = {"name": "log-agent", "image": "fluent/fluent-bit:3.1.9",
           "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}}
INIT = {"name": "wait-for-network", "image": "busybox:1.36", "command": ["sh", "-c", "true"],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}}}


def _add_container(work: _Work, group: str, spec: Data, facts: Data) -> bool:
    def edit(obj: Any) -> Any:
        template = _template(obj)
        assert template is not None  # checked below before the edit
        template.setdefault(group, []).append(copy.deepcopy(spec))
        return obj

    live = _workload(work.data)
    # A long-running sidecar would keep a Job's pod from ever completing.
    batch = group == "containers" and live is not None and live.get("kind") in ("Job", "CronJob")
    if live is None or live.get("kind") not in TEMPLATE_PATH or batch or _template(live) is None or any(c.get("name") == spec["name"] for c in _containers(live)):
        return False
    if not _edit_workload(work, edit):
        return False
    world = work.data.setdefault("world", {})
    world.setdefault("containers", []).append({"container": spec["name"], **facts})
    return True


def sidecar(work: _Work) -> None:
    if _add_container(work, "containers", SIDECAR, {"memory": "20Mi", "cpu": "2m", "listens": [2020]}):
        work.applied.append("sidecar")


def init_container(work: _Work) -> None:
    if _add_container(work, "initContainers", INIT, {"exit": {"code": 0, "after": "1s"}}):
        work.applied.append("init")


def noise(work: _Work) -> None:
    """An unrelated, healthy workload in the namespace, with an old Warning event that is not the fault."""
    ref = work.expect.get("resource") or {}
    namespace = ref.get("namespace")
    # Where the fault is the namespace's or the nodes' (a quota, taints, a lost node), any pod shares it.
    if not namespace or work.expect.get("category") in ("quota", "unschedulable", "node_failure"):
        return
    name = f"{work.rng.choice(NAMES)}-metrics"
    work.data.setdefault("objects", []).append({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{
                     "name": "exporter", "image": "prom/statsd-exporter:v0.27.1", "ports": [{"containerPort": 9102}],
                     "readinessProbe": {"httpGet": {"path": "/metrics", "port": 9102}},
                     "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}}]}}}})
    world = work.data.setdefault("world", {})
    world.setdefault("containers", []).append({"workload": name, "memory": "20Mi", "cpu": "2m", "listens": [9102]})
    overrides = work.data.setdefault("overrides", {})
    overrides.setdefault("events", []).append({
        "involved": {"kind": "Pod", "namespace": namespace, "name": name}, "type": "Warning", "reason": "Unhealthy",
        "message": "Readiness probe failed: Get \"http://10.244.1.9:9102/metrics\": context deadline exceeded",
        "count": 1, "ago": "3h"})
    work.applied.append("noise")


def overlay(work: _Work) -> None:
    """The repository as a kustomize base rendered by an overlay (the GitOps controller applies the overlay)."""
    files = (work.data.get("gitops") or {}).get("files") or {}
    fix = work.expect.get("fix")
    if not files or any("kustomization" in p for p in files) and any(p.startswith("clusters/") for p in files):
        return
    manifests = [p for p in files if p.endswith((".yaml", ".yml")) and "kustomization" not in Path(p).name]
    roots = sorted({str(Path(p).parent) for p in files if Path(p).name == "kustomization.yaml"})
    moved = {p: f"base/{p}" for p in files}
    new_files = {moved[p]: t for p, t in files.items()}
    resources = [f"../../base/{r}" for r in roots] if roots else [f"../../base/{p}" for p in manifests]
    new_files["overlays/prod/kustomization.yaml"] = _dump_docs([{
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources,
        "commonAnnotations": {"example.com/owner": "platform-team"}}])
    work.data["gitops"]["files"] = new_files
    if fix and fix.get("file") in moved:
        fix["file"] = moved[fix["file"]]
    # The live objects carry what the overlay adds, as they would after the last sync.
    for obj in work.data.get("objects") or []:
        if obj.get("kind") not in ("Namespace",):
            obj.setdefault("metadata", {}).setdefault("annotations", {})["example.com/owner"] = "platform-team"
    work.applied.append("overlay")


TRANSFORMS: list[Callable[[_Work], None]] = [change_owner, sidecar, init_container, noise, overlay]


# -- binding alerts to the seeded cluster ----------------------------------------------------------------


def seeded(scenario: Scenario) -> ObjectStore:
    from sim.controller import Controller

    store = ObjectStore()
    Controller(store, scenario).seed()
    return store


def pods_of(store: ObjectStore, scenario: Scenario) -> list[Data]:
    ref = scenario.expect.resource
    if ref is None:
        return []
    return [p for p in store.list("Pod", ref.namespace) if owned_by(store, p, ref.kind, ref.name)]


def _failing(pods: list[Data]) -> list[Data]:
    """The pods that are not Ready (all of them when every one is)."""
    return [p for p in pods if not any(c.get("type") == "Ready" and c.get("status") == "True"
                                       for c in (p.get("status") or {}).get("conditions") or [])] or pods


def _jobs_of(store: ObjectStore, namespace: str, kind: str, name: str) -> list[Data]:
    """The Jobs a Job or CronJob workload stands for, newest first."""
    if kind == "Job":
        job = store.get("Job", namespace, name)
        return [job] if job else []
    jobs = [j for j in store.list("Job", namespace)
            if any(r.get("kind") == kind and r.get("name") == name for r in j["metadata"].get("ownerReferences") or [])]
    return sorted(jobs, key=lambda j: j["metadata"].get("creationTimestamp") or "", reverse=True)


def _holding(store: ObjectStore, ref: Any, failing: list[Data]) -> list[Data]:
    """Label sets of the alerts kube-prometheus fires for the workload's current state."""
    alerts_for_kind, label = WORKLOAD_ALERTS[ref.kind]
    scope = Scope(ref.namespace, ref.kind, ref.name)
    found = []
    for name in POD_ALERTS:
        if failing and CONDITIONS[name](store, scope):
            found.append({"alertname": name, "pod": failing[0]["metadata"]["name"]})
    if ref.kind in ("Job", "CronJob"):
        for job in _jobs_of(store, ref.namespace, ref.kind, ref.name)[:1]:
            job_scope = Scope(ref.namespace, "Job", job["metadata"]["name"])
            found += [{"alertname": name, label: job["metadata"]["name"]} for name in alerts_for_kind
                      if CONDITIONS[name](store, job_scope)]
    else:
        found += [{"alertname": name, label: ref.name} for name in alerts_for_kind if CONDITIONS[name](store, scope)]
    return found


def bind_alerts(work: _Work, swap: bool) -> Scenario:
    """Point pod- and Job-scoped alerts at a real pod or Job of the workload, and replace the first alert by
    another one kube-prometheus fires for the same state: always when its own condition does not hold on the
    seeded cluster (a re-owned workload fails differently), and with `swap` otherwise."""
    scenario = parse_scenario(work.data)
    ref = scenario.expect.resource
    if ref is None or ref.kind not in TEMPLATE_PATH:
        return scenario
    store = seeded(scenario)
    pods = pods_of(store, scenario)
    failing = _failing(pods)
    alerts = work.data.get("alerts") or []
    faults = [f for f in [scenario.expect, *scenario.more_faults] if f.resource is not None]
    for index, alert in enumerate(alerts):
        if alert.get("labels", {}).get("pod") is None or not faults:
            continue
        which = work.alert_faults[index] if index < len(work.alert_faults) else 0
        fault = faults[which] if which < len(faults) else faults[0]
        mine = _failing(pods_of(store, scenario.model_copy(update={"expect": fault})))
        if mine:
            alert["labels"]["pod"] = mine[0]["metadata"]["name"]
    if not alerts or not failing:
        return parse_scenario(work.data)
    if ref.kind == "CronJob":
        jobs = _jobs_of(store, ref.namespace, ref.kind, ref.name)
        for alert in alerts:
            if jobs and alert["labels"].get("job_name") == ref.name:
                alert["labels"]["job_name"] = jobs[0]["metadata"]["name"]
    fallback = Scope(ref.namespace, ref.kind, ref.name)

    def holds(labels: Data) -> bool:
        condition = CONDITIONS.get(str(labels.get("alertname")))
        return condition is None or bool(condition(store, alert_scope(store, labels, fallback)))

    # Further alerts the re-owned workload no longer fires are gone, as they would be from Prometheus.
    alerts[1:] = [a for a in alerts[1:] if holds(a["labels"])]
    first = alerts[0]["labels"]
    current = first.get("alertname")
    first_holds = holds(first)
    if first_holds and not swap:
        return parse_scenario(work.data)
    choices = [c for c in _holding(store, ref, failing) if c["alertname"] != current]
    if choices:
        chosen = work.rng.choice(choices)
        labels = {k: v for k, v in first.items() if k not in ("pod", "container", "reason", "deployment",
                                                               "statefulset", "daemonset", "job_name")}
        labels.update(chosen)
        alerts[0] = {"labels": labels, "annotations": {"summary": f"{chosen['alertname']} (variant)"}}
        work.applied.append(f"alert={chosen['alertname']}")
    elif not first_holds:
        raise ScenarioError(f"no alert kube-prometheus fires holds for {ref.kind}/{ref.name}")
    return parse_scenario(work.data)


# -- the suite -------------------------------------------------------------------------------------------


def make_variant(source: Scenario, index: int, seed: int) -> Variant | None:
    """One variant of `source`, determined by (seed, index); None when the transforms leave it invalid."""
    rng = random.Random(f"{seed}:{source.name}:{index}")
    data = source.model_dump(mode="json", exclude_none=True, by_alias=True)
    work = _Work(data=data, rng=rng)
    # Before any renaming: which fault each alert is about, by the workload its pod label names.
    faults = [f for f in [source.expect, *source.more_faults] if f.resource is not None]
    work.alert_faults = [next((n for n, f in enumerate(faults) if f.resource and
                               str(a.labels.get("pod", "")).startswith(f"{f.resource.name}-")), 0)
                         for a in source.alerts]
    rename(work)
    for transform in TRANSFORMS:
        if rng.random() < 0.45:
            transform(work)
    swap = rng.random() < 0.5
    name = f"{source.name}~{seed}-{index}"
    work.data["name"] = name
    try:
        scenario = bind_alerts(work, swap)
    except ScenarioError:
        return None
    return Variant(name=name, source=source.name, transforms=list(work.applied), scenario=scenario)


def generate(count: int, seed: int, sources: list[Path] | None = None) -> list[Variant]:
    """`count` variants spread evenly over the scenarios (the shipped ones by default), reproducible from `seed`."""
    scenarios = [load_scenario(p) for p in (sources or shipped_scenarios())]
    faults = [s for s in scenarios if s.alerts]
    variants: list[Variant] = []
    index = 0
    while len(variants) < count and index < count * 3:
        source = faults[index % len(faults)]
        variant = make_variant(source, index // len(faults), seed)
        if variant is not None:
            variants.append(variant)
        index += 1
    return variants
