"""Rollout history: the revisions of a Deployment (its ReplicaSets) or a StatefulSet/DaemonSet
(its ControllerRevisions), with images and change causes, to see what changed before a fault."""

from __future__ import annotations

from typing import Any, Literal


from agents.safety.validation import Namespace, ObjectName, ToolParams
from agents.toolsets.base import ToolEnv, ToolOutput, ToolStatus
from agents.toolsets.kubernetes.reader import cluster_reader
from agents.toolsets.kubernetes.render import age, owner, table
from agents.toolsets.kubernetes.toolset import KUBERNETES

Obj = dict[str, Any]


class GetRolloutHistoryParams(ToolParams):
    namespace: Namespace
    name: ObjectName
    kind: Literal["Deployment", "StatefulSet", "DaemonSet"] = "Deployment"


def _images(template: Obj) -> str:
    return ", ".join(f"{c.get('name')}={c.get('image')}" for c in template.get("spec", {}).get("containers") or [])


@KUBERNETES.tool(params=GetRolloutHistoryParams, output_cap=5000, transformers=("redact", "truncate_head"))
def get_rollout_history(env: ToolEnv, p: GetRolloutHistoryParams) -> ToolOutput:
    """Revisions of a Deployment, StatefulSet or DaemonSet, oldest first: revision, images, replicas,
    age, change cause; the current one is marked. Use it to see whether a fault began with a new release."""
    reader = cluster_reader(env)
    revisions: list[Obj] = []
    if p.kind == "Deployment":
        for rs in reader.list("ReplicaSet", p.namespace):
            if owner(rs) != f"Deployment/{p.name}":
                continue
            notes = rs["metadata"].get("annotations") or {}
            revisions.append({"revision": int(notes.get("deployment.kubernetes.io/revision", 0)),
                              "name": rs["metadata"]["name"], "images": _images(rs.get("spec", {}).get("template", {})),
                              "replicas": rs.get("spec", {}).get("replicas", 0),
                              "created": rs["metadata"].get("creationTimestamp"),
                              "changeCause": notes.get("kubernetes.io/change-cause")})
    else:
        for cr in reader.list("ControllerRevision", p.namespace):
            if owner(cr) != f"{p.kind}/{p.name}":
                continue
            revisions.append({"revision": cr.get("revision", 0), "name": cr["metadata"]["name"],
                              "images": _images(cr.get("data", {}).get("spec", {}).get("template", {})),
                              "replicas": None, "created": cr["metadata"].get("creationTimestamp"),
                              "changeCause": (cr["metadata"].get("annotations") or {}).get("kubernetes.io/change-cause")})
    if not revisions:
        return ToolOutput("", [], ToolStatus.NO_DATA, f"{p.kind} {p.namespace}/{p.name} has no recorded revisions")
    revisions.sort(key=lambda r: r["revision"])
    latest = revisions[-1]["revision"]
    rows = [[str(r["revision"]) + (" (current)" if r["revision"] == latest else ""), r["name"], r["images"],
             "-" if r["replicas"] is None else r["replicas"], age(r["created"]), r["changeCause"] or "<none>"]
            for r in revisions]
    return ToolOutput(table(["REVISION", "NAME", "IMAGES", "REPLICAS", "AGE", "CHANGE-CAUSE"], rows), revisions)
