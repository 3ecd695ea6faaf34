"""Checks that read kube-scheduler's FitError: resources, nodeSelector/affinity, taints, unbound PVCs."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from agents.diagnosis import ResourceRef
from agents.rules import pods
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.quantity import format_mebibytes, parse_quantity
from agents.rules.registry import check
from agents.rules.workloads import top_owner
from agents.toolsets.gitops.fieldpath import REMOVE

_INSUFFICIENT = re.compile(r"(\d+) Insufficient ([\w/-]+(?:\.[\w/-]+)*)")
_SELECTOR = re.compile(r"didn't match Pod's node affinity/selector|didn't match node selector")
_TAINT = re.compile(r"untolerated taint \{([^}]*)\}|had taints? \{([^}]*)\}, that the pod didn't tolerate")
_PVC = re.compile(r"unbound immediate PersistentVolumeClaims|persistentvolumeclaim \\?\"([^\"\\]+)\\?\" not found")
_NODE_TAINTS = ("node.kubernetes.io/", "node.cloudprovider.kubernetes.io/")


def _fit_errors(facts: Facts) -> Iterator[tuple[dict[str, Any], str, str | None]]:
    """(pod, scheduler message, call) for every pending pod the scheduler rejected."""
    for pod in facts.pods():
        for condition in pod.get("status", {}).get("conditions") or []:
            if condition.get("type") == "PodScheduled" and condition.get("reason") == "Unschedulable":
                yield pod, condition.get("message") or "", facts.source("Pod", pod["metadata"].get("namespace"), pods.name(pod))
        for seen in facts.events_for("Pod", pods.name(pod), reasons=("FailedScheduling",)):
            yield pod, seen.obj.get("message") or "", seen.call_id


def _needle(message: str) -> str:
    return message.split(". preemption:")[0]


@check("unschedulable_resources")
def unschedulable_resources(facts: Facts) -> Finding | None:
    """No node has room for the pod's requests (`Insufficient memory/cpu/nvidia.com/gpu`)."""
    for pod, message, call_id in _fit_errors(facts):
        found = _INSUFFICIENT.findall(message)
        if not found:
            continue
        resource = found[0][1]
        holders = [(c["name"], ((c.get("resources") or {}).get("requests") or (c.get("resources") or {}).get("limits") or {}).get(resource))
                   for c in pods.containers(pod)]
        name, request = max(holders, key=lambda h: parse_quantity(h[1]) or 0.0, default=("", None))
        allocatable = [parse_quantity(n.get("status", {}).get("allocatable", {}).get(resource)) or 0.0 for n in facts.all("Node")]
        largest = max(allocatable, default=0.0)
        biggest = (f"; the largest node has {format_mebibytes(largest) if resource == 'memory' else f'{largest:g}'} allocatable"
                   if largest else "")
        cause = (f"container {name} requests {request} of {resource}, more than any node can offer "
                 f"({_needle(message)}){biggest}.")
        path = f"{pods.container_path(pod, name)}.resources"
        # The process never ran, so nothing in the cluster measures what it needs: a size that merely fits a node
        # is a candidate for the owner, not a value for a pull request.
        fitting = _fitting(resource, largest) if largest else None
        candidate = (f"; a request of at most {_shown(resource, largest)} fits the largest node (e.g. {fitting}, half a "
                     "node), but only the owner knows what the process uses") if fitting else ""
        fixes: tuple[FixDraft, ...] = (FixDraft(
            f"{path}.requests.{resource}", None,
            f"lower the {resource} request (and limit) to what the process uses and what fits a node's allocatable "
            f"{resource}, or add nodes with more {resource}{candidate}"),)
        return Finding("unschedulable", cause, 0.9, pods.ref(pod), (Clue.of(f"Insufficient {resource}", call_id=call_id),), fixes)
    return None


def _fitting(resource: str, largest: float) -> str | None:
    """A clean request no larger than half the largest node's allocatable amount (memory: a power of two, at
    least 64Mi; cpu: whole 100m), or None for other resources."""
    half = largest / 2
    if resource == "memory":
        mib = half / 2**20
        if mib < 64:
            return None
        size = 2 ** int(math.log2(mib))
        return f"{size // 1024}Gi" if size >= 1024 else f"{size}Mi"
    if resource == "cpu" and half >= 0.1:
        return f"{int(half * 10) * 100}m"
    return None


def _shown(resource: str, amount: float) -> str:
    return format_mebibytes(amount) if resource == "memory" else f"{amount:g}"


@check("unschedulable_node_selector")
def unschedulable_node_selector(facts: Facts) -> Finding | None:
    """The pod's nodeSelector or required node affinity matches no node."""
    for pod, message, call_id in _fit_errors(facts):
        if not _SELECTOR.search(message):
            continue
        spec = pod.get("spec", {})
        selector = spec.get("nodeSelector")
        cause = (f"the pod's nodeSelector {selector} matches no node ({_needle(message)})." if selector
                 else f"the pod's required node affinity matches no node ({_needle(message)}).")
        total = re.search(r"0/(\d+) nodes are available", message)
        unmatched = re.search(r"(\d+) node\(s\) didn't match (?:Pod's node affinity/selector|node selector)", message)
        nowhere = bool(total and unmatched and total.group(1) == unmatched.group(1))
        if selector and nowhere:
            fix = FixDraft("spec.nodeSelector", REMOVE,
                           f"no node carries {selector}, so the selector can only keep the pods Pending; remove it "
                           "(or, if the pin is intended, label a node or select a label nodes carry)")
        else:
            fix = FixDraft("spec.nodeSelector" if selector else "spec.affinity.nodeAffinity", None,
                           "remove the selector, or use labels that nodes carry")
        return Finding("unschedulable", cause, 0.88, pods.ref(pod), (Clue.of(_SELECTOR.search(message).group(0), call_id=call_id),), (fix,))
    return None


def _taint(text: str) -> tuple[str, str]:
    key, _, value = text.partition(":")
    return key.strip(), value.strip()


@check("unschedulable_taint")
def unschedulable_taint(facts: Facts) -> Finding | None:
    """Every node carries a taint the pod does not tolerate (a node's own not-ready taints are node failures)."""
    for pod, message, call_id in _fit_errors(facts):
        match = _TAINT.search(message)
        if not match:
            continue
        key, value = _taint(match.group(1) or match.group(2))
        if key.startswith(_NODE_TAINTS):
            return Finding("node_failure", f"nodes carry the {key} taint: the nodes themselves are unhealthy ({_needle(message)}).",
                           0.8, pods.ref(pod), (Clue.of(key, call_id=call_id),), escalate="a node is not ready; no workload change fixes it")
        effect = next((t.get("effect") for n in facts.all("Node") for t in n.get("spec", {}).get("taints") or []
                       if t.get("key") == key), "NoSchedule")
        toleration = {"key": key, "operator": "Equal", "value": value, "effect": effect} if value else \
                     {"key": key, "operator": "Exists", "effect": effect}
        existing = list(pod.get("spec", {}).get("tolerations") or [])
        cause = f"all nodes are tainted {key}={value}:{effect} and the pod has no matching toleration ({_needle(message)})."
        fix = FixDraft("spec.tolerations", [t for t in existing if not t.get("key", "").startswith(_NODE_TAINTS)] + [toleration],
                       f"tolerate the {key} taint the nodes carry (or schedule onto an untainted pool)")
        return Finding("unschedulable", cause, 0.9, pods.ref(pod), (Clue.of(match.group(0), key, call_id=call_id),), (fix,))
    return None


@check("unschedulable_unbound_pvc")
def unschedulable_unbound_pvc(facts: Facts) -> Finding | None:
    """The pod waits for a PersistentVolumeClaim that is unbound or missing; the claim is the fault."""
    for pod, message, call_id in _fit_errors(facts):
        match = _PVC.search(message)
        if not match:
            continue
        claims = [v["persistentVolumeClaim"]["claimName"] for v in pod.get("spec", {}).get("volumes") or []
                  if v.get("persistentVolumeClaim")]
        claim = match.group(1) or (claims[0] if claims else "?")
        subject = ResourceRef(kind="PersistentVolumeClaim", namespace=pod["metadata"].get("namespace"), name=claim)
        return Finding("storage", f"the pod cannot be scheduled because PersistentVolumeClaim {claim} is not bound ({_needle(message)}).",
                       0.7, subject, (Clue.of(match.group(0), call_id=call_id),), related=(pods.ref(pod),))
    return None


@check("unschedulable_other")
def unschedulable_other(facts: Facts) -> Finding | None:
    """Any other FitError, quoted as the scheduler wrote it. An unbound claim is not "other": the claim (its
    StorageClass, its provisioner) is the fault, which unschedulable_unbound_pvc and the pvc checks name."""
    for pod, message, call_id in _fit_errors(facts):
        if _PVC.search(message):
            continue
        return Finding("unschedulable", f"no node can run the pod: {_needle(message)}.", 0.6, pods.ref(pod),
                       (Clue.of(_needle(message), "Unschedulable", call_id=call_id),))
    return None


_POD_PLACEMENT = re.compile(r"(\d+) node\(s\) (didn't match pod anti-affinity rules|didn't match pod affinity rules|"
                            r"didn't satisfy existing pods anti-affinity rules|"
                            r"didn't match pod topology spread constraints(?: \(missing required label\))?)")


HOSTNAME = "kubernetes.io/hostname"


def _selects_itself(term: dict[str, Any], pod: dict[str, Any]) -> bool:
    """Does a PodAffinityTerm's matchLabels select the pod's own labels (a workload keeping its replicas apart)?"""
    wanted = (term.get("labelSelector") or {}).get("matchLabels") or {}
    labels = pod.get("metadata", {}).get("labels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


@check("unschedulable_pod_placement")
def unschedulable_pod_placement(facts: Facts) -> Finding | None:
    """Required pod anti-affinity or a DoNotSchedule topology spread constraint that keeps replicas apart
    leaves a replica no node: every topology domain already holds one (more replicas than domains)."""
    for pod, message, call_id in _fit_errors(facts):
        match = _POD_PLACEMENT.search(message)
        if not match:
            continue
        total = re.search(r"0/(\d+) nodes are available", message)
        nodes = int(total.group(1)) if total else 0
        every = nodes and int(match.group(1)) == nodes
        spec = pod.get("spec", {})
        reason = match.group(2)
        clue = Clue.of(match.group(0), call_id=call_id)
        source = facts.source("Pod", pod["metadata"].get("namespace"), pods.name(pod))
        if "anti-affinity" in reason:
            anti = (spec.get("affinity") or {}).get("podAntiAffinity") or {}
            terms = [t for t in anti.get("requiredDuringSchedulingIgnoredDuringExecution") or [] if _selects_itself(t, pod)]
            if not terms:
                return Finding("unschedulable", f"pod anti-affinity keeps the pod off every node ({_needle(message)}).", 0.7,
                               pods.ref(pod), (clue,))
            keys = sorted({str(t.get("topologyKey")) for t in terms})
            cause = (f"the pods require anti-affinity on {', '.join(keys)} against their own labels (one replica per "
                     f"{' / '.join(keys)} domain), and {'all ' + str(nodes) + ' nodes' if every else 'the nodes'} already "
                     f"run one, so this replica fits no node ({_needle(message)}).")
            clues = (clue, Clue.of("requiredDuringSchedulingIgnoredDuringExecution", call_id=source))
            workload = top_owner(facts, pods.ref(pod))
            deployment = facts.focus.get("deployment")
            if workload.kind == "ReplicaSet" and deployment and workload.name.startswith(f"{deployment}-"):
                workload = ResourceRef(kind="Deployment", namespace=workload.namespace, name=deployment)
            if not (every and keys == [HOSTNAME] and workload.kind in ("Deployment", "StatefulSet", "ReplicaSet")):
                return Finding("unschedulable", cause, 0.75, pods.ref(pod), clues)
            # One replica per node and every node holds one: the workload can run as many replicas as there are
            # nodes. Making the rule preferred alone does not help: the running pods' required anti-affinity
            # keeps every new pod of the rollout off their nodes too.
            fix = FixDraft("spec.replicas", nodes,
                           f"one replica per node (required anti-affinity on {HOSTNAME}) allows at most {nodes} replicas "
                           f"on {nodes} nodes; the extra replica never ran, so serving capacity is unchanged (more "
                           "replicas need more nodes, or a preferred rule rolled out once the pool can hold both)",
                           resource=workload)
            return Finding("unschedulable", cause, 0.9, pods.ref(pod), clues, (fix,))
        if "topology spread" in reason:
            constraints = list(spec.get("topologySpreadConstraints") or [])
            strict = [c for c in constraints if c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"]
            if "missing required label" in reason or not strict:
                return Finding("unschedulable", f"a topology spread constraint names a label nodes do not carry "
                               f"({_needle(message)}).", 0.7, pods.ref(pod), (clue,))
            keys = sorted({str(c.get("topologyKey")) for c in strict})
            cause = (f"the topology spread constraint on {', '.join(keys)} (whenUnsatisfiable DoNotSchedule) allows no "
                     f"node for this replica without exceeding maxSkew ({_needle(message)}).")
            relaxed = [{**c, "whenUnsatisfiable": "ScheduleAnyway"} if c in strict else c for c in constraints]
            fix = FixDraft("spec.topologySpreadConstraints", relaxed,
                           "let the scheduler place the replica where the skew is least (ScheduleAnyway) instead of "
                           "leaving it Pending, or add nodes in the missing domains")
            return Finding("unschedulable", cause, 0.85, pods.ref(pod),
                           (clue, Clue.of("whenUnsatisfiable: DoNotSchedule", "topologySpreadConstraints", call_id=source)),
                           (fix,))
        return Finding("unschedulable", f"no node runs the pods this pod requires affinity to ({_needle(message)}).", 0.75,
                       pods.ref(pod), (clue,))
    return None
