"""Cluster DNS as a process sees it: which host names in a command line resolve, through the pod's
resolv.conf as the kubelet writes it.

`dnsPolicy: ClusterFirst` (the default) points the pod at the cluster DNS (10.96.0.10) with the search
path `<ns>.svc.cluster.local svc.cluster.local cluster.local` and `ndots:5`, so `svc`, `svc.ns`,
`svc.ns.svc` and `svc.ns.svc.cluster.local` resolve when that Service exists. `Default` uses the node's
resolver, which knows no cluster names; `None` uses only `dnsConfig`; `dnsConfig` nameservers and
searches are appended and its `ndots` option replaces the default (ndots only orders the tries, so it
changes no outcome here). Names outside the cluster resolve only if `world.external_hosts` lists them.
The cluster DNS must also be reachable: an egress NetworkPolicy without a rule for kube-dns makes every
lookup through it time out (sim.derive.netpol).

A process with `resolve_hosts` set fails the way its client does (curl: `curl: (6) Could not resolve
host: x`, exit 6) when a URL it was given names a host that does not resolve.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sim.derive.context import Cluster, Obj
from sim.derive.names import fnv32a
from sim.derive.netpol import Endpoint, dns_blocked

CLUSTER_DNS = "10.96.0.10"
NODE_DNS = "172.18.0.1"  # the nodes' own resolver (kind's docker network gateway)
CLUSTER_DOMAIN = "cluster.local"
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://([^/:?#\s'\"]+)", re.IGNORECASE)
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


@dataclass(frozen=True)
class ResolvConf:
    nameservers: tuple[str, ...]
    searches: tuple[str, ...]
    ndots: int


def resolv_conf(pod: Obj | None, namespace: str) -> ResolvConf:
    """The resolv.conf the kubelet writes for `pod` (a pod-less caller gets ClusterFirst's)."""
    spec = (pod or {}).get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"  # ClusterFirst falls back to the node's resolver for host-network pods
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        servers = [CLUSTER_DNS]
        searches = [f"{namespace}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}", CLUSTER_DOMAIN]
        ndots = 5
    elif policy == "Default":
        servers, searches, ndots = [NODE_DNS], [], 1
    else:  # None
        servers, searches, ndots = [], [], 1
    config = spec.get("dnsConfig") or {}
    servers += [s for s in config.get("nameservers") or [] if s not in servers]
    searches += [s for s in config.get("searches") or [] if s not in searches]
    for option in config.get("options") or []:
        if option.get("name") == "ndots" and str(option.get("value", "")).isdigit():
            ndots = int(option["value"])
    return ResolvConf(tuple(servers), tuple(searches), ndots)


def hosts_in(words: list[str]) -> list[str]:
    """Host names of the URLs in a command line, in order."""
    return [m.group(1).lower() for word in words for m in _URL.finditer(word)]


def _cluster_answer(cluster: Cluster, fqdn: str) -> bool:
    """Does the cluster DNS hold `fqdn` (`svc.ns.svc.cluster.local`)?"""
    suffix = f".svc.{CLUSTER_DOMAIN}"
    if not fqdn.endswith(suffix):
        return False
    parts = fqdn.removesuffix(suffix).split(".")
    return len(parts) == 2 and cluster.get("Service", parts[1], parts[0]) is not None


def lookup_error(cluster: Cluster, namespace: str, host: str, pod: Obj | None = None) -> str | None:
    """Go's resolver error for `host` (`lookup x on 10.96.0.10:53: no such host`), None when it resolves."""
    host = host.lower()
    if _IP.match(host) or host == "localhost":
        return None
    conf = resolv_conf(pod, namespace)
    if not conf.nameservers:
        return f"lookup {host}: no nameservers configured"  # an empty resolv.conf
    cluster_dns = CLUSTER_DNS in conf.nameservers
    client = Endpoint.of_pod(pod) if pod is not None else None
    if cluster_dns and client is not None and dns_blocked(cluster, client):
        if conf.nameservers == (CLUSTER_DNS,):
            port = 32768 + fnv32a(f"{client.ip}/{host}".encode()) % 28000
            return f"lookup {host} on {CLUSTER_DNS}:53: read udp {client.ip}:{port}->{CLUSTER_DNS}:53: i/o timeout"
        cluster_dns = False  # the other nameservers still answer
    names = [host.rstrip(".")] if host.endswith(".") else [host, *(f"{host}.{s}" for s in conf.searches)]
    for name in names:
        if name in cluster.scenario.world.external_hosts:
            return None
        if cluster_dns and _cluster_answer(cluster, name):
            return None
    return f"lookup {host} on {conf.nameservers[0]}:53: no such host"


def resolves(cluster: Cluster, namespace: str, host: str, pod: Obj | None = None) -> bool:
    return lookup_error(cluster, namespace, host, pod) is None


def unresolved_host(cluster: Cluster, namespace: str, words: list[str], pod: Obj | None = None) -> str | None:
    """The first URL host in `words` that does not resolve from `namespace` (or from `pod`), if any."""
    return next((h for h in hosts_in(words) if not resolves(cluster, namespace, h, pod)), None)
