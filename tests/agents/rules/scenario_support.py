"""Run the rule engine against a simulated cluster seeded from a scenario, and rename a scenario's names."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agents.context import ClusterRef, Context
from agents.diagnosis import Diagnosis, IncidentInput, ResourceRef
from agents.rules.engine import run_rules
from agents.skills.loader import SkillSet
from agents.toolsets import ToolExecutor, ToolResult, default_registry
from app.incidents.grouping import PodNameResolver, resource_of
from sim.runtime import start_sim
from sim.scenario import Scenario, load_scenario

NEW_NAMES = ["orion", "vega", "lyra", "carina", "draco", "hydra", "pavo", "tucana", "volans", "lepus"]
KEEP = {"default", "kube-system", "kube-public", "worker-1", "worker-2", "worker-3", "standard"}


@dataclass
class Outcome:
    diagnosis: Diagnosis
    calls: list[ToolResult]
    seconds: float


async def incident_for(scenario: Scenario) -> IncidentInput:
    """The incident the intake opens: the alerts, the namespace they (or the objects) name, and the resource
    the intake derives from their labels (a pod folded into its workload by the pod's name, as the service does)."""
    namespace = next((a.labels["namespace"] for a in scenario.alerts if a.labels.get("namespace")), None)
    if namespace is None:
        namespace = next((o["metadata"]["namespace"] for o in scenario.objects
                          if o.get("metadata", {}).get("namespace") and o["kind"] != "DaemonSet"), None)
    resource = None
    for alert in scenario.alerts:
        found = await resource_of(alert.labels, "sim", PodNameResolver())
        if found is not None:
            resource = ResourceRef(kind=found.kind, namespace=namespace, name=found.name)
            break
    return IncidentInput(cluster="sim", namespace=namespace, resource=resource,
                         alerts=[a.model_dump(exclude_none=True) for a in scenario.alerts])


def with_pod_label(incident: IncidentInput, pod: str) -> IncidentInput:
    """The incident with every alert's `pod` label set to `pod` (e.g. one that no longer exists)."""
    alerts = [{**alert, "labels": {**alert["labels"], "pod": pod}} for alert in incident.alerts]
    return incident.model_copy(update={"alerts": alerts})


async def diagnose(scenario: Scenario, skills: SkillSet, *, pod_label: str | None = None) -> Outcome:
    """Run the engine on the scenario's incident. The alerts keep the pod names the scenario wrote (in a renamed
    copy: pods that no longer exist, like an alert about a pod a rollout replaced), or name `pod_label`."""
    with start_sim(scenario) as sim:
        incident = await incident_for(scenario)
        if pod_label is not None:
            incident = with_pod_label(incident, pod_label)
        # The simulated cluster is also its images' registry, as in `opsgraph diagnose --scenario`.
        context = Context(incident_id="test", cluster=ClusterRef(id="sim", kubeconfig=sim.kubeconfig_path),
                          enabled_toolsets=frozenset({"kubernetes", "registry"}), registry_mirrors=(("*", sim.url),))
        executor = ToolExecutor(default_registry(), context, agent="rules", allowed=skills.tools())
        started = time.monotonic()
        diagnosis = await run_rules(incident, executor, skills)
        return Outcome(diagnosis, list(executor.calls), time.monotonic() - started)


def _tokens(data: dict[str, Any]) -> list[str]:
    """Names another author would choose differently: namespace, workload, containers, image repositories."""
    found: list[str] = []
    resource = (data.get("expect") or {}).get("resource") or {}
    found += [resource.get("namespace"), resource.get("name")]
    for obj in data.get("objects") or []:
        meta = obj.get("metadata", {})
        if obj.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Namespace"):
            found.append(meta.get("name"))
            found.append(meta.get("namespace"))
        template = obj.get("spec", {}).get("template", {}).get("spec", {})
        for container in template.get("containers", []) + template.get("initContainers", []):
            found.append(container.get("name"))
            found.append(str(container.get("image", "")).split(":")[0].rsplit("/", 1)[-1])
    unique = []
    for token in found:
        if token and token not in KEEP and token not in unique and len(token) > 2:
            unique.append(token)
    return sorted(unique, key=len, reverse=True)


def renamed_copy(path: Path, folder: Path) -> Scenario:
    """The scenario with its namespace, workload, container and image names replaced everywhere."""
    text = path.read_text()
    data = yaml.safe_load(text)
    for i, token in enumerate(_tokens(data)):
        text = re.sub(rf"(?<![\w-]){re.escape(token)}(?![\w-])", f"{NEW_NAMES[i % len(NEW_NAMES)]}-{i}", text)
    copy = folder / path.name
    copy.write_text(text)
    return load_scenario(copy)
