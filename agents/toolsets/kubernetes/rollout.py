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
                              "changeCause": notes.get("kubernetes.io/change-cause"),
                              "template": rs.get("spec", {}).get("template", {})})
    else:
        for cr in reader.list("ControllerRevision", p.namespace):
            if owner(cr) != f"{p.kind}/{p.name}":
                continue
            revisions.append({"revision": cr.get("revision", 0), "name": cr["metadata"]["name"],
                              "images": _images(cr.get("data", {}).get("spec", {}).get("template", {})),
                              "replicas": None, "created": cr["metadata"].get("creationTimestamp"),
                              "changeCause": (cr["metadata"].get("annotations") or {}).get("kubernetes.io/change-cause"),
                              "template": cr.get("data", {}).get("spec", {}).get("template", {})})
    if not revisions:
        return ToolOutput("", [], ToolStatus.NO_DATA, f"{p.kind} {p.namespace}/{p.name} has no recorded revisions")
    revisions.sort(key=lambda r: r["revision"])
    latest = revisions[-1]["revision"]
    rows = [[str(r["revision"]) + (" (current)" if r["revision"] == latest else ""), r["name"], r["images"],
             "-" if r["replicas"] is None else r["replicas"], age(r["created"]), r["changeCause"] or "<none>"]
            for r in revisions]
    text = table(["REVISION", "NAME", "IMAGES", "REPLICAS", "AGE", "CHANGE-CAUSE"], rows)
    current = revisions[-1]["template"]
    changes = [f"revision {r['revision']} vs current: {'; '.join(diff)}" for r in revisions[:-1]
               if (diff := template_differences(r["template"], current))]
    if changes:
        text += "\n\nWhat earlier revisions ran differently (kubectl rollout history --revision N):\n" + "\n".join(changes)
    return ToolOutput(text, revisions)


def _env_text(item: Obj) -> str:
    if "value" in item:
        return f"{item['name']}={item['value']}"
    ref = item.get("valueFrom") or {}
    source = next(((k, v) for k, v in ref.items() if isinstance(v, dict)), None)
    return f"{item['name']} from {source[0]} {source[1].get('name', '')}/{source[1].get('key', '')}".rstrip("/") \
        if source else str(item.get("name"))


def template_differences(earlier: Obj, current: Obj) -> list[str]:
    """What an earlier pod template set differently from the current one, container by container: image,
    command, args and env entries (as the manifest wrote them; values pass through redaction like any output)."""
    now = {c.get("name"): c for c in current.get("spec", {}).get("containers") or []}
    found = []
    for container in earlier.get("spec", {}).get("containers") or []:
        name = container.get("name")
        mine = now.get(name)
        if mine is None:
            found.append(f"container {name} (not in the current template)")
            continue
        for field in ("image", "command", "args"):
            if container.get(field) != mine.get(field) and container.get(field) is not None:
                found.append(f"container {name} {field} {container[field]}")
        env_now = {e.get("name"): e for e in mine.get("env") or []}
        for item in container.get("env") or []:
            if env_now.get(item.get("name")) != item:
                found.append(f"container {name} env {_env_text(item)}"
                             + (" (not set now)" if item.get("name") not in env_now else ""))
    return found
