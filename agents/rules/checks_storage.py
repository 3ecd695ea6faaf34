"""Checks for volumes: a claim that cannot bind (StorageClass, provisioner), a volume that is full."""

from __future__ import annotations

import difflib
import re
from typing import Any

from agents.diagnosis import ResourceRef
from agents.rules import pods
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.quantity import parse_quantity
from agents.rules.registry import check
from agents.rules.workloads import top_owner

_CLASS_MISSING = re.compile(r'storageclass\.storage\.k8s\.io \\?"([^"\\]+)\\?" not found')
_DISK_FULL = re.compile(r"(?i)no space left on device|disk quota exceeded|ENOSPC")


def _ref(obj: dict[str, Any]) -> ResourceRef:
    return ResourceRef(kind=obj["kind"], namespace=obj["metadata"].get("namespace"), name=obj["metadata"]["name"])


def _pending_claims(facts: Facts) -> list[dict[str, Any]]:
    """Claims not bound: described ones, and ones only the provisioner's events name (not described yet)."""
    namespace = facts.focus.get("namespace")
    focus = facts.focus.get("pvc") or facts.focus.get("persistentvolumeclaim")
    claims = [c for c in facts.all("PersistentVolumeClaim", namespace)
              if c.get("status", {}).get("phase") in ("Pending", "Lost", None)]
    known = {c["metadata"]["name"] for c in facts.all("PersistentVolumeClaim", namespace)}
    for seen in facts.events_for("PersistentVolumeClaim", reasons=("ProvisioningFailed", "FailedBinding")):
        involved = seen.obj.get("involvedObject", {})
        name = involved.get("name")
        if name and name not in known and involved.get("namespace") in (namespace, None):
            known.add(name)
            claims.append({"kind": "PersistentVolumeClaim", "status": {},
                           "metadata": {"name": name, "namespace": involved.get("namespace") or namespace}})
    return sorted(claims, key=lambda c: c["metadata"]["name"] != focus)


@check("pvc_storageclass_missing")
def pvc_storageclass_missing(facts: Facts) -> Finding | None:
    """The claim names a StorageClass that does not exist (ProvisioningFailed ... not found)."""
    for claim in _pending_claims(facts):
        for seen in facts.events_for("PersistentVolumeClaim", claim["metadata"]["name"], reasons=("ProvisioningFailed",)):
            match = _CLASS_MISSING.search(seen.obj.get("message") or "")
            if not match:
                continue
            classes = facts.all("StorageClass")
            default = next((c["metadata"]["name"] for c in classes if c["metadata"].get("annotations", {})
                            .get("storageclass.kubernetes.io/is-default-class") == "true"), None)
            closest = difflib.get_close_matches(match.group(1), [c["metadata"]["name"] for c in classes], n=1, cutoff=0.4)
            new = default or (closest[0] if closest else None)
            which = (f"{new}, the cluster's default StorageClass" if new and new == default else
                     f"{new}, the existing StorageClass with the closest name" if new else "a StorageClass that exists")
            cause = f"PersistentVolumeClaim {claim['metadata']['name']} asks for StorageClass {match.group(1)}, which does not exist."
            if new:
                cause += f" {which[0].upper()}{which[1:]} exists."
            fix = FixDraft("spec.storageClassName", new, f"use {which} (the claim's spec is immutable: the unbound claim, "
                           "which never held data, is recreated)", resource=_ref(claim))
            clues = (Clue.of(match.group(0), match.group(1), call_id=seen.call_id),)
            if new:
                clues += (Clue.of("is-default-class" if new == default else new, call_id=facts.source("StorageClass", None, new)),)
            return Finding("storage", cause, 0.92, _ref(claim), clues, (fix,))
    return None


@check("pvc_pending")
def pvc_pending(facts: Facts) -> Finding | None:
    """The claim stays Pending for another reason the provisioner states."""
    for claim in _pending_claims(facts):
        events = facts.events_for("PersistentVolumeClaim", claim["metadata"]["name"], reasons=("ProvisioningFailed", "FailedBinding"))
        message = events[-1].obj.get("message") if events else None
        cause = f"PersistentVolumeClaim {claim['metadata']['name']} is not bound" + (f": {message}" if message else ".")
        return Finding("storage", cause, 0.75 if message else 0.6, _ref(claim),
                       (Clue.of(message, "Pending", call_id=events[-1].call_id if events else
                                facts.source("PersistentVolumeClaim", claim["metadata"].get("namespace"), claim["metadata"]["name"])),))
    return None


@check("volume_full")
def volume_full(facts: Facts) -> Finding | None:
    """The process logs that its volume is full."""
    for pod in facts.pods():
        for log in facts.logs_for(pods.name(pod)):
            line = next((ln.strip() for ln in log.text.splitlines() if _DISK_FULL.search(ln)), None)
            if not line:
                continue
            claims = [v["persistentVolumeClaim"]["claimName"] for v in pod.get("spec", {}).get("volumes") or []
                      if v.get("persistentVolumeClaim")]
            namespace = pod["metadata"].get("namespace")
            claim = facts.get("PersistentVolumeClaim", namespace, claims[0]) if claims else None
            size = (claim or {}).get("spec", {}).get("resources", {}).get("requests", {}).get("storage")
            new = f"{int((parse_quantity(size) or 0) * 4 / 2**20)}Mi" if parse_quantity(size) else None
            subject = ResourceRef(kind="PersistentVolumeClaim", namespace=namespace, name=claims[0]) if claims else pods.ref(pod)
            fixes = (FixDraft("spec.resources.requests.storage", new, "grow the volume (the class must allow expansion)",
                              resource=subject),) if claims else ()
            # Without the claim's size read yet there is no value to propose: stay below the stop mark so a step
            # that describes the claim runs and this check answers again with the size.
            return Finding("storage", f"the volume of pod {pods.name(pod)} is full: {line}", 0.85 if new else 0.8, subject,
                           (Clue.of(line, "No space left on device", call_id=log.call_id),), fixes, related=(pods.ref(pod),))
    return None


_MULTI_ATTACH = re.compile(r'Multi-Attach error for volume \\?"([^"\\]+)\\?" Volume is already used by pod\(s\) '
                           r"([a-z0-9][-a-z0-9.]*(?:, [a-z0-9][-a-z0-9.]*)*)")


@check("volume_multi_attach")
def volume_multi_attach(facts: Facts) -> Finding | None:
    """A ReadWriteOnce volume attached to another node's pod (FailedAttachVolume Multi-Attach). When the holder is
    the same Deployment's earlier pod, RollingUpdate is the cause: the new pod starts before the old one lets go."""
    for pod in facts.pods():
        for seen in facts.events_for("Pod", pods.name(pod), reasons=("FailedAttachVolume",)):
            match = _MULTI_ATTACH.search(seen.obj.get("message") or "")
            if not match:
                continue
            volume, holders = match.group(1), match.group(2).split(", ")
            namespace = pod["metadata"].get("namespace")
            claims = [v["persistentVolumeClaim"]["claimName"] for v in pod.get("spec", {}).get("volumes") or []
                      if v.get("persistentVolumeClaim")]
            claim = claims[0] if claims else "?"
            clue = Clue.of(match.group(0), "Multi-Attach error", call_id=seen.call_id)
            workload = top_owner(facts, pods.ref(pod))
            deployment = facts.focus.get("deployment")
            if workload.kind == "ReplicaSet" and deployment and workload.name.startswith(f"{deployment}-"):
                workload = ResourceRef(kind="Deployment", namespace=namespace, name=deployment)
            strategy = ((facts.get("Deployment", namespace, workload.name) or {}).get("spec", {}).get("strategy") or {})
            own = workload.kind == "Deployment" and all(h.startswith(f"{workload.name}-") for h in holders)
            if not own or strategy.get("type") == "Recreate":
                cause = (f"volume {volume} (claim {claim}) is ReadWriteOnce and attached to the node of pod(s) "
                         f"{', '.join(holders)}, so it cannot attach to this pod's node.")
                return Finding("storage", cause, 0.75, pods.ref(pod), (clue,), related=(pods.ref(pod),))
            cause = (f"Deployment {workload.name} mounts the ReadWriteOnce volume {volume} (claim {claim}) and rolls out "
                     f"with RollingUpdate: the new pod started on another node while the previous pod {holders[0]} still "
                     "holds the disk attached, so the attach fails (Multi-Attach) and the rollout cannot progress.")
            fix = FixDraft("spec.strategy", {"type": "Recreate"},
                           "Recreate stops the old pod first, so the disk detaches before the new pod attaches it (a "
                           "short gap instead of a stuck rollout); one ReadWriteOnce disk cannot serve pods on two nodes",
                           resource=workload)
            return Finding("storage", cause, 0.9, pods.ref(pod), (clue,), (fix,))
    return None


_EPHEMERAL = re.compile(r"Pod ephemeral local storage usage exceeds the total limit of containers (\S+)\.|"
                        r'Container (\S+) exceeded its local ephemeral storage limit "([^"]+)"\.|'
                        r"The node was low on resource: ephemeral-storage\.")


@check("evicted_ephemeral_storage")
def evicted_ephemeral_storage(facts: Facts) -> Finding | None:
    """The kubelet evicted the pod for local storage: past its ephemeral-storage limit, or the node's disk
    under DiskPressure. Nothing in the cluster's API says how much the process writes, so a person decides."""
    for pod in facts.pods():
        status = pod.get("status", {})
        message = status.get("message") or ""
        match = _EPHEMERAL.search(message) if status.get("reason") == "Evicted" else None
        if not match:
            continue
        clue = Clue.of(match.group(0), "Evicted", call_id=facts.source("Pod", pod["metadata"].get("namespace"), pods.name(pod)))
        if match.group(0).startswith("The node"):
            cause = (f"the kubelet evicted pod {pods.name(pod)} because its node ran low on disk (DiskPressure): "
                     f"{message.strip()}")
            return Finding("storage", cause, 0.8, pods.ref(pod), (clue,),
                           escalate="the node's disk is full; whether the pod writes too much or the node needs "
                                    "cleaning or a larger disk is an operator's call")
        limit = match.group(1) or match.group(3)
        cause = (f"the kubelet evicted pod {pods.name(pod)}: the containers wrote more to their writable layers, logs "
                 f"and emptyDirs than their ephemeral-storage limit {limit} ({message.strip()}); its replacements are "
                 "evicted the same way.")
        return Finding("storage", cause, 0.85, pods.ref(pod), (clue,),
                       escalate=f"the cluster shows the {limit} limit but not how much the process writes, so no "
                                "evidence-backed limit exists; the owner raises it to the measured need or makes the "
                                "process write less (logs to stdout, a bounded cache, a volume)")
    return None
