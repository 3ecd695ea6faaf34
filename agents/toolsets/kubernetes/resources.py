"""Any object as YAML: managedFields and last-applied annotations stripped, Secret values never shown."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import Field

from agents.safety.redaction import redact_obj
from agents.safety.validation import KindName, Namespace, ObjectName, ToolParams
from agents.toolsets.base import ToolEnv, ToolOutput
from agents.toolsets.kubernetes.kinds import resolve_kind
from agents.toolsets.kubernetes.reader import cluster_reader
from agents.toolsets.kubernetes.toolset import KUBERNETES

Obj = dict[str, Any]
# The last-applied annotation repeats the whole manifest (Secret values included) as one JSON string.
NOISY_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


class GetResourceYamlParams(ToolParams):
    kind: KindName = Field(description="Kind, e.g. Deployment, ConfigMap, Ingress, HorizontalPodAutoscaler.")
    namespace: Namespace | None = Field(None, description="Namespace; omit for cluster-scoped kinds.")
    name: ObjectName


def clean(obj: Obj) -> Obj:
    """The object without server bookkeeping; a Secret keeps only its key names and sizes."""
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in NOISY_ANNOTATIONS}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out = {**obj, "metadata": meta}
    if obj.get("kind") == "Secret":
        for field in ("data", "stringData"):
            if field in out:
                out[field] = {key: f"<{len(value or '')} bytes, value not shown>"
                              for key, value in (out[field] or {}).items()}
    return out


@KUBERNETES.tool(params=GetResourceYamlParams, output_cap=8000, transformers=("redact", "truncate_head"))
def get_resource_yaml(env: ToolEnv, p: GetResourceYamlParams) -> ToolOutput:
    """The full object as YAML (spec and status), for any kind: ConfigMaps, Ingresses, HPAs, quotas,
    NetworkPolicies, RBAC... managedFields are stripped and Secrets show key names only, never values."""
    info = resolve_kind(p.kind)
    # Redacted as an object before it becomes text: in YAML an env entry's name and value sit on two
    # lines, where text redaction can no longer see that DB_PASSWORD's value is a secret.
    obj = redact_obj(clean(cluster_reader(env).get(info, p.namespace if info.namespaced else None, p.name)))
    text = yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, width=120, allow_unicode=True)
    return ToolOutput(text.rstrip(), obj)
