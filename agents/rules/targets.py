"""The variables a decision tree's step arguments use, from the alert labels and from what was observed."""

from __future__ import annotations

import re
from typing import Any

from agents.diagnosis import IncidentInput
from agents.rules import pods
from agents.rules.facts import Facts

# Alert label -> step variable. kube-state-metrics and kubelet alerts use these names.
LABEL_VARS = {
    "namespace": "namespace", "pod": "pod", "container": "container", "deployment": "deployment",
    "statefulset": "statefulset", "daemonset": "daemonset", "job_name": "job", "cronjob": "cronjob",
    "node": "node", "service": "service", "persistentvolumeclaim": "pvc", "horizontalpodautoscaler": "hpa",
    "resourcequota": "quota", "certificate": "certificate", "replicaset": "replicaset", "ingress": "ingress",
}
# The `service` label of a scraped metric names the exporter, not the object the alert is about.
_SCRAPE_SERVICE = re.compile(r"kube-state-metrics|kubelet|node-exporter|prometheus|alertmanager|blackbox")
_RESOURCE_VARS = {"Pod": "pod", "Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset",
                  "Job": "job", "CronJob": "cronjob", "Node": "node", "Service": "service",
                  "PersistentVolumeClaim": "pvc", "HorizontalPodAutoscaler": "hpa", "Certificate": "certificate"}
WORKLOAD_VARS = ("deployment", "statefulset", "daemonset", "job", "cronjob")
WORKLOAD_KINDS = {"deployment": "Deployment", "statefulset": "StatefulSet", "daemonset": "DaemonSet", "job": "Job",
                  "cronjob": "CronJob"}

# How controllers name their pods. The random parts come from Kubernetes' SafeEncodeString alphabet (no
# vowels, no 0/1/3), so `node-exporter-x7k2q` is not read as Deployment `node`; an all-digit middle part is
# a CronJob's Job (<cronjob>-<minutes since epoch>), not a pod-template-hash.
_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
_NAME = r"(?P<name>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)"
_REPLICASET_POD = re.compile(rf"^{_NAME}-(?![0-9]+-){_SAFE}{{5,10}}-{_SAFE}{{5}}$")  # <deploy>-<hash>-<5>
_ORDINAL_POD = re.compile(rf"^{_NAME}-(?:0|[1-9][0-9]*)$")  # <statefulset>-<ordinal>
_SUFFIX_POD = re.compile(rf"^{_NAME}-{_SAFE}{{5}}$")  # <daemonset>-<5> or <job>-<5>


def from_incident(incident: IncidentInput) -> dict[str, str]:
    """Variables from the alerts' labels (the first alert that has one wins) and the incident's resource."""
    found: dict[str, str] = {}
    for labels in incident.alert_labels():
        if str(labels.get("alertname", "")).startswith("CertManager") and labels.get("name"):
            found.setdefault("certificate", labels["name"])
            if labels.get("exported_namespace"):
                found.setdefault("namespace", labels["exported_namespace"])
        for label, var in LABEL_VARS.items():
            value = labels.get(label)
            if not value or (label == "service" and _SCRAPE_SERVICE.search(value)):
                continue
            found.setdefault(var, value)
    if incident.namespace:
        found.setdefault("namespace", incident.namespace)
    if incident.resource is not None:
        if incident.resource.namespace:
            found.setdefault("namespace", incident.resource.namespace)
        var = _RESOURCE_VARS.get(incident.resource.kind)
        if var:
            found.setdefault(var, incident.resource.name)
    return found


def workloads_from_pod_name(pod: str) -> list[tuple[str, str]]:
    """The workloads (variable, name) a pod's name says may own it, likeliest first."""
    if match := _REPLICASET_POD.match(pod):
        return [("deployment", match["name"])]
    if match := _ORDINAL_POD.match(pod):
        return [("statefulset", match["name"])]
    if match := _SUFFIX_POD.match(pod):
        return [("daemonset", match["name"]), ("job", match["name"])]
    return []


def owned_by(owner: str | None, var: str, workload: str) -> bool:
    """Whether a pod whose controller is `owner` ("Kind/name", as list_pods reports it) belongs to the workload."""
    kind, _, name = (owner or "").partition("/")
    if var == "deployment":  # through a ReplicaSet <deployment>-<pod-template-hash>
        return kind == "ReplicaSet" and name.rsplit("-", 1)[0] == workload
    if var == "cronjob":  # through a Job <cronjob>-<schedule time>
        return kind == "Job" and name.rsplit("-", 1)[0] == workload
    return kind == WORKLOAD_KINDS.get(var) and name == workload


def _belongs(pod: dict[str, Any], found: dict[str, str]) -> bool:
    """Whether the pod is one of the workload the variables name (by its owner's name)."""
    owner = (pods.owner(pod) or {}).get("name", "")
    named = [found[v] for v in WORKLOAD_VARS if v in found]
    return not named or any(owner == n or owner.startswith(f"{n}-") for n in named)


def pick_pod(facts: Facts, found: dict[str, str]) -> str | None:
    """The unhealthy pod to look at: of the named workload, or of the Service's selector, or any."""
    candidates = [p for p in pods.unhealthy_pods(facts) if _belongs(p, found)]
    if "service" in found:
        service = facts.get("Service", found.get("namespace"), found["service"]) or {}
        selector = service.get("spec", {}).get("selector") or {}
        candidates = [p for p in candidates if selector
                      and all(p["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())]
    if candidates:
        return pods.name(candidates[0])
    # An alert about a claim (KubePersistentVolumeFillingUp): the pod that mounts it shows what the volume does.
    claim = facts.get("PersistentVolumeClaim", found.get("namespace"), found.get("pvc", "")) or {}
    users = [str(u) for u in claim.get("usedBy") or []]
    return users[0] if users and "pvc" in found else None


def backend_pod(facts: Facts, found: dict[str, str]) -> dict[str, str]:
    """`backend_pod`: a pod the named Service selects (to read the ports it declares)."""
    service = facts.get("Service", found.get("namespace"), found.get("service", "")) or {}
    matching = service.get("spec", {}).get("matchingPods") or []
    return {"backend_pod": matching[0]} if matching and "backend_pod" not in found else {}


# A client's own words for a request its dependency refused or could not resolve (Go's net/http, curl,
# Node, Python): the host named is the dependency to look at next.
_UPSTREAM = (
    re.compile(r'(?:Get|Post|Put|Delete|Patch|Head) \\?"https?://([^/:"\\]+)[^ ]*: dial tcp'),
    re.compile(r"lookup ([a-z0-9.-]+) on [^:]+:\d+: no such host"),
    re.compile(r"Could not resolve host: ([a-z0-9.-]+)"),
    re.compile(r"(?:connect to|Failed to connect to) ([a-z0-9.-]+) port \d+"),
    re.compile(r"ECONNREFUSED|ENOTFOUND ([a-z0-9.-]+)"),
)


def upstream(facts: Facts, found: dict[str, str]) -> dict[str, str]:
    """`upstream_service`/`upstream_namespace`: the in-cluster Service the focus pod's requests fail against,
    read from its own log (the alerting workload may be healthy; the cause is what it depends on)."""
    caller = found.get("pod") or found.get("backend_pod")
    if "upstream_service" in found or not caller:
        return {}
    for log in facts.logs_for(caller):
        for line in log.text.splitlines()[-200:]:
            host = next((m.group(1) for pattern in _UPSTREAM if (m := pattern.search(line)) and m.lastindex), None)
            if not host:
                continue
            parts = host.lower().removesuffix(".cluster.local").removesuffix(".svc").split(".")
            if len(parts) > 2 or not parts[0]:
                continue  # outside the cluster
            namespace = parts[1] if len(parts) == 2 else found.get("namespace", "default")
            if parts[0] != found.get("service") or namespace != found.get("namespace"):
                return {"upstream_service": parts[0], "upstream_namespace": namespace}
    return {}


def from_ingress(facts: Facts, found: dict[str, str]) -> dict[str, str]:
    """`ingress_class`: the class the focus Ingress names (to ask whether it exists)."""
    ingress = facts.get("Ingress", found.get("namespace"), found.get("ingress", ""))
    spec, meta = (ingress or {}).get("spec") or {}, (ingress or {}).get("metadata") or {}
    named = spec.get("ingressClassName") or (meta.get("annotations") or {}).get("kubernetes.io/ingress.class")
    return {"ingress_class": named} if named and "ingress_class" not in found else {}


def from_pod(facts: Facts, found: dict[str, str]) -> dict[str, str]:
    """Variables the focus pod adds: its crashed container, node, claim and owners."""
    pod = facts.get("Pod", found.get("namespace"), found.get("pod", ""))
    if pod is None:
        return {}
    added: dict[str, str] = {}
    # A container that restarted after dying has a previous log; one that exited and stayed down has only its current one.
    crashed = [s["name"] for s in pods.statuses(pod) if (s.get("lastState") or {}).get("terminated")]
    if found.get("container") in crashed:
        added["crashed_container"] = found["container"]
    elif crashed:
        added["crashed_container"] = crashed[0]
    unready = [s["name"] for s in pods.statuses(pod, init=False) if not s.get("ready")]
    if unready or pods.containers(pod):
        added["container"] = found.get("container") or (unready or [pods.containers(pod)[0]["name"]])[0]
    if pod.get("spec", {}).get("nodeName"):
        added["node"] = pod["spec"]["nodeName"]
    # A dedicated ServiceAccount is there to call the API: what it may do is read before the crashed run's log.
    if pod.get("spec", {}).get("serviceAccountName") not in (None, "", "default"):
        added["service_account"] = pod["spec"]["serviceAccountName"]
    # The image a container cannot pull: a step asks its registry which tags exist.
    pulling = [s.get("image") or pods.container(pod, s["name"]).get("image") for s in pods.statuses(pod)
               if pods.waiting(s).get("reason") in ("ImagePullBackOff", "ErrImagePull")]
    if pulling and pulling[0]:
        added["unpulled_image"] = str(pulling[0])
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod.get("spec", {}).get("volumes") or []
              if v.get("persistentVolumeClaim")]
    if claims:
        added["pvc"] = claims[0]
    owner = pods.owner(pod)
    if owner:
        added[owner["kind"].lower()] = owner["name"]
    return {k: v for k, v in added.items() if k not in found}


def started_pod(facts: Facts, found: dict[str, str]) -> dict[str, str]:
    """`started_pod`: a Ready pod of the focus pod's Deployment other than the focus pod (an earlier revision
    still serving during a stuck rollout): its log shows how the process behaves when it does start."""
    deployment, focus = found.get("deployment"), found.get("pod")
    if "started_pod" in found or not deployment or not focus:
        return {}
    for pod in facts.all("Pod", found.get("namespace")):
        ref = pods.owner(pod) or {}
        if pods.name(pod) != focus and ref.get("kind") == "ReplicaSet" and str(ref.get("name", "")).startswith(
                f"{deployment}-") and pods.is_healthy(pod) and pod.get("status", {}).get("phase") == "Running":
            return {"started_pod": pods.name(pod)}
    return {}
