"""Cluster DNS as a process sees it: which host names in a command line resolve.

`svc`, `svc.ns`, `svc.ns.svc` and `svc.ns.svc.cluster.local` resolve when that Service exists (the
pod's namespace for a bare name, through the resolv.conf search path); any other name resolves only
if `world.external_hosts` lists it. A process with `resolve_hosts` set fails the way its client does
(curl: `curl: (6) Could not resolve host: x`, exit 6) when a URL it was given names a host that does
not resolve.
"""

from __future__ import annotations

import re

from sim.derive.context import Cluster

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://([^/:?#\s'\"]+)", re.IGNORECASE)
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def hosts_in(words: list[str]) -> list[str]:
    """Host names of the URLs in a command line, in order."""
    return [m.group(1).lower() for word in words for m in _URL.finditer(word)]


def resolves(cluster: Cluster, namespace: str, host: str) -> bool:
    if _IP.match(host) or host == "localhost" or host in cluster.scenario.world.external_hosts:
        return True
    name = host.removesuffix(".cluster.local").removesuffix(".svc")
    parts = name.split(".")
    if len(parts) == 1:
        return cluster.get("Service", namespace, parts[0]) is not None
    if len(parts) == 2:
        return cluster.get("Service", parts[1], parts[0]) is not None
    return False


def unresolved_host(cluster: Cluster, namespace: str, words: list[str]) -> str | None:
    """The first URL host in `words` that does not resolve from `namespace`, if any."""
    return next((h for h in hosts_in(words) if not resolves(cluster, namespace, h)), None)
