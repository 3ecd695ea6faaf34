"""Reading NetworkPolicies: which ones isolate a pod for ingress, and whether one admits a given client.

The networking.k8s.io/v1 semantics: a policy selecting a pod with Ingress among its policyTypes (the
default) isolates it; an isolated pod accepts a connection only when some such policy has a rule whose
`from` peers (pod selector in the policy's namespace, namespace selector, ipBlock) and `ports` match.
Used by get_endpoints (to show the policies in front of a Service's pods) and by the checks.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def selects(selector: Obj | None, labels: dict[str, str]) -> bool:
    """metav1.LabelSelector matching; the empty selector selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if (op == "In" and (not present or labels[key] not in values)) or \
                (op == "NotIn" and present and labels[key] in values) or \
                (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def ingress_isolating(policies: list[Obj], pod_labels: dict[str, str]) -> list[Obj]:
    """The policies that isolate a pod with these labels for ingress."""
    out = []
    for policy in policies:
        spec = policy.get("spec") or {}
        types = spec.get("policyTypes") or ["Ingress"]
        if "Ingress" in types and selects(spec.get("podSelector"), pod_labels):
            out.append(policy)
    return out


def _port_ok(ports: list[Obj] | None, port: int | None, named: dict[str, int]) -> bool:
    if not ports or port is None:
        return True
    for entry in ports:
        wanted = entry.get("port")
        if wanted is None:
            return True
        number = named.get(wanted) if isinstance(wanted, str) and not wanted.isdigit() else int(wanted)
        end = entry.get("endPort")
        if number is not None and (number == port or (end is not None and number <= port <= int(end))):
            return True
    return False


def admits(policy: Obj, client_labels: dict[str, str], client_namespace: str, port: int | None = None,
           named_ports: dict[str, int] | None = None) -> bool:
    """Does one of `policy`'s ingress rules let a pod with these labels in `client_namespace` through?"""
    policy_ns = (policy.get("metadata") or {}).get("namespace")
    for rule in (policy.get("spec") or {}).get("ingress") or []:
        if not _port_ok(rule.get("ports"), port, named_ports or {}):
            continue
        peers = rule.get("from") or []
        if not peers:
            return True
        for peer in peers:
            if "ipBlock" in peer:
                continue  # pod addresses are not known here; a CIDR peer is judged by the cluster
            if "namespaceSelector" in peer:
                ns_labels = {"kubernetes.io/metadata.name": client_namespace}
                if not selects(peer.get("namespaceSelector"), ns_labels):
                    continue
            elif client_namespace != policy_ns:
                continue
            if selects(peer.get("podSelector"), client_labels):
                return True
    return False


def selector_text(selector: Obj | None) -> str:
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    parts += [f"{e.get('key')} {str(e.get('operator', '')).lower()} ({','.join(e.get('values') or [])})"
              for e in selector.get("matchExpressions") or []]
    return ",".join(parts) or "<all pods>"


def rule_lines(policy: Obj) -> list[str]:
    """One line per ingress rule: `from app=billing-worker on 8080/TCP`, as kubectl describe words it."""
    lines = []
    for rule in (policy.get("spec") or {}).get("ingress") or []:
        peers = []
        for peer in rule.get("from") or []:
            if "ipBlock" in peer:
                peers.append(f"ipBlock {peer['ipBlock'].get('cidr')}")
                continue
            where = (f"namespaces {selector_text(peer.get('namespaceSelector'))}, " if "namespaceSelector" in peer
                     else "")
            peers.append(f"{where}pods {selector_text(peer.get('podSelector'))}")
        ports = ",".join(f"{p.get('port', 'any')}/{p.get('protocol', 'TCP')}" for p in rule.get("ports") or [])
        lines.append(f"allow from {'; '.join(peers) or 'anywhere'} on {ports or 'all ports'}")
    return lines or ["deny all ingress"]
