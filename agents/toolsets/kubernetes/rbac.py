"""What a ServiceAccount may do: the RoleBindings and ClusterRoleBindings that name it and their roles' rules,
laid out like `kubectl describe role` (Resources, Resource Names, Verbs)."""

from __future__ import annotations

from typing import Any

from agents.toolsets.base import ToolEnv, ToolOutput
from agents.toolsets.kubernetes.reader import cluster_reader
from agents.toolsets.kubernetes.render import header, table
from agents.toolsets.kubernetes.resources import clean
from agents.toolsets.kubernetes.toolset import KUBERNETES
from agents.toolsets.kubernetes.workloads import DescribeParams

Obj = dict[str, Any]


def _names_account(binding: Obj, namespace: str, name: str) -> bool:
    return any(s.get("kind") == "ServiceAccount" and s.get("name") == name
               and (s.get("namespace") or binding["metadata"].get("namespace")) == namespace
               for s in binding.get("subjects") or [])


def _rule_rows(role: Obj) -> list[list[str]]:
    rows = []
    for rule in role.get("rules") or []:
        groups = rule.get("apiGroups") or [""]
        resources = [f"{r}.{g}" if g else r for r in rule.get("resources") or [] for g in groups] or ["<none>"]
        urls = rule.get("nonResourceURLs") or []
        rows.append([", ".join(resources), f"[{' '.join(urls)}]", f"[{' '.join(rule.get('resourceNames') or [])}]",
                     f"[{' '.join(rule.get('verbs') or [])}]"])
    return rows


@KUBERNETES.tool(params=DescribeParams, kind="ServiceAccount", output_cap=6000, transformers=("redact", "truncate_head"))
def describe_service_account(env: ToolEnv, p: DescribeParams) -> ToolOutput:
    """Describe a ServiceAccount and what RBAC lets it do: every RoleBinding in its namespace and every
    ClusterRoleBinding that names it, with the bound Role's or ClusterRole's rules (resources, verbs).
    Use it when a pod's log says a request `is forbidden: User "system:serviceaccount:..."`."""
    reader = cluster_reader(env)
    account = reader.get("ServiceAccount", p.namespace, p.name)
    # List items carry no kind of their own; the facts need it.
    bindings = [{**b, "kind": kind} for kind in ("RoleBinding", "ClusterRoleBinding")
                for b in reader.list(kind, p.namespace if kind == "RoleBinding" else None)
                if _names_account(b, p.namespace, p.name)]
    lines = header(account)
    lines.append("Bound by:" + ("  <none>: this ServiceAccount may do nothing beyond what every account may"
                                if not bindings else ""))
    objects: list[Obj] = [clean({**account, "kind": "ServiceAccount"})]
    for binding in bindings[:10]:
        ref = binding.get("roleRef") or {}
        scope = f"RoleBinding {binding['metadata']['name']}" if binding["metadata"].get("namespace") else \
            f"ClusterRoleBinding {binding['metadata']['name']}"
        role = reader.maybe_get("ClusterRole" if ref.get("kind") == "ClusterRole" else "Role",
                                None if ref.get("kind") == "ClusterRole" else p.namespace, ref.get("name", ""))
        objects.append(clean(binding))
        if role is None:
            lines.append(f"  {scope} -> {ref.get('kind')} {ref.get('name')}: NOT FOUND (the binding grants nothing)")
            continue
        objects.append(clean({**role, "kind": ref.get("kind") or "Role"}))
        lines.append(f"  {scope} -> {ref.get('kind')} {ref.get('name')}:")
        rows = _rule_rows(role)
        lines += ["    " + line for line in table(["Resources", "Non-Resource URLs", "Resource Names", "Verbs"],
                                                     rows).splitlines()] if rows else ["    <no rules>"]
    return ToolOutput("\n".join(lines), objects)
