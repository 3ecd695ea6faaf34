"""NetworkPolicy as a CNI that enforces it (Calico, Cilium) applies it to one connection.

Semantics from the networking.k8s.io/v1 spec: a pod is isolated for a direction when a policy in its
namespace selects it (`podSelector`, empty = every pod) with that direction in `policyTypes` (default:
Ingress, plus Egress when `egress` rules are present). An isolated pod admits a connection only if some
selecting policy has a rule whose peers (`podSelector` in the policy's namespace, `namespaceSelector`
with an optional `podSelector`, `ipBlock` cidr/except) and `ports` (number or named port, protocol,
`endPort`) match; both the client's egress and the server's ingress must allow it. A denied TCP
connection is dropped, not refused, so the client times out.

The cluster DNS is modelled as the kube-dns pods a real cluster runs (`k8s-app: kube-dns` in
`kube-system`, port 53), so an egress policy without a rule for them breaks name resolution.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from sim.derive.context import Cluster, Obj
from sim.selectors import selector_matches

DNS_POD_LABELS = {"k8s-app": "kube-dns"}
DNS_NAMESPACE = "kube-system"
DNS_POD_IP = "10.244.0.2"


@dataclass(frozen=True)
class Endpoint:
    """One end of a connection: a pod (labels, namespace, declared ports) or an address outside the pods."""

    ip: str
    namespace: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)  # named container ports

    @classmethod
    def of_pod(cls, pod: Obj) -> Endpoint:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        named = {p["name"]: int(p.get("containerPort") or 0) for c in spec.get("containers") or []
                 for p in c.get("ports") or [] if p.get("name")}
        return cls(str((pod.get("status") or {}).get("podIP") or ""), meta.get("namespace") or "default",
                   dict(meta.get("labels") or {}), named)


KUBE_DNS = Endpoint(DNS_POD_IP, DNS_NAMESPACE, DNS_POD_LABELS, {"dns": 53, "dns-tcp": 53})


def _namespace_labels(cluster: Cluster, namespace: str) -> dict[str, str]:
    ns = cluster.get("Namespace", None, namespace) or {}
    return {**((ns.get("metadata") or {}).get("labels") or {}), "kubernetes.io/metadata.name": namespace}


def _types(policy: Obj) -> list[str]:
    spec = policy.get("spec") or {}
    return spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") else ["Ingress"])


def isolating(cluster: Cluster, pod: Endpoint, direction: str) -> list[Obj]:
    """The policies that select `pod` for `direction` ("Ingress" or "Egress"), by name."""
    if pod.namespace is None:
        return []
    return [p for p in cluster.list("NetworkPolicy", pod.namespace)
            if direction in _types(p) and selector_matches((p.get("spec") or {}).get("podSelector"), pod.labels)]


def _peer_matches(cluster: Cluster, peer: Obj, policy_ns: str, other: Endpoint) -> bool:
    block = peer.get("ipBlock")
    if block:
        try:
            address = ipaddress.ip_address(other.ip)
            return address in ipaddress.ip_network(block.get("cidr", ""), strict=False) and not any(
                address in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])
        except ValueError:
            return False
    if other.namespace is None:  # not a pod: only ipBlock peers can name it
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer.get("namespaceSelector"), _namespace_labels(cluster, other.namespace)):
            return False
    elif other.namespace != policy_ns:
        return False
    return selector_matches(peer.get("podSelector"), other.labels)


def _port_matches(rule_ports: list[Obj] | None, server: Endpoint, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        number = server.ports.get(wanted) if isinstance(wanted, str) and not wanted.isdigit() else int(wanted)
        end = entry.get("endPort")
        if number is not None and (port == number or (end is not None and number <= port <= int(end))):
            return True
    return False


def allowed(cluster: Cluster, client: Endpoint, server: Endpoint, port: int, protocol: str = "TCP") -> Obj | None:
    """None when the connection is allowed, else the policy that drops it (the first isolating one)."""
    egress = isolating(cluster, client, "Egress")
    if egress and not any(
            any(not rule.get("to") or any(_peer_matches(cluster, peer, p["metadata"]["namespace"], server)
                                          for peer in rule["to"])
                for rule in (p.get("spec") or {}).get("egress") or []
                if _port_matches(rule.get("ports"), server, port, protocol))
            for p in egress):
        return egress[0]
    ingress = isolating(cluster, server, "Ingress")
    if ingress and not any(
            any(not rule.get("from") or any(_peer_matches(cluster, peer, p["metadata"]["namespace"], client)
                                            for peer in rule["from"])
                for rule in (p.get("spec") or {}).get("ingress") or []
                if _port_matches(rule.get("ports"), server, port, protocol))
            for p in ingress):
        return ingress[0]
    return None


def dns_blocked(cluster: Cluster, client: Endpoint) -> bool:
    """Can the client not reach kube-dns on 53/UDP (the resolver's first try)?"""
    return allowed(cluster, client, KUBE_DNS, 53, "UDP") is not None

