"""What a running client sees when it calls a URL inside the cluster, for `calls` behaviour logs.

The call goes the way kube-proxy routes it: the name must resolve (sim.derive.dns), the Service must
have a ready endpoint for the port, and the endpoint pod must listen on the target port; otherwise
the client logs Go's net/http error (`dial tcp 10.96.4.7:9090: connect: connection refused`, or
`dial tcp: lookup x on 10.96.0.10:53: no such host`). Logs are rendered from the current Services and
endpoints, so a fix shows at once; they are not part of a pod's plan (a client does not restart).
"""

from __future__ import annotations

import re

from sim.derive.context import Cluster, Obj
from sim.derive.dns import resolves
from sim.derive.world import owner_workload
from sim.derive.services import _target
from sim.derive.workloads import pod_ready
from sim.derive.world import behaviour

DNS_SERVER = "10.96.0.10:53"
_URL = re.compile(r"^(?P<scheme>[a-z]+)://(?P<host>[^/:]+)(?::(?P<port>\d+))?", re.IGNORECASE)


def _listens(cluster: Cluster, pod: Obj, port: int) -> bool:
    namespace = pod["metadata"].get("namespace") or "default"
    for container in pod["spec"].get("containers") or []:
        b = behaviour(cluster.scenario.world, namespace, owner_workload(cluster, pod), container)
        declared = {p.get("containerPort") for p in container.get("ports") or []}
        if port in (b.listens if b.listens is not None else declared):
            return True
    return False


def call_error(cluster: Cluster, namespace: str, url: str) -> str | None:
    """The client's error for one request to `url`, or None when it succeeds."""
    match = _URL.match(url)
    if match is None:
        return None
    host = match["host"].lower()
    port = int(match["port"] or (443 if match["scheme"].lower() == "https" else 80))
    if not resolves(cluster, namespace, host):
        return f'Get "{url}": dial tcp: lookup {host} on {DNS_SERVER}: no such host'
    parts = host.removesuffix(".cluster.local").removesuffix(".svc").split(".")
    if len(parts) > 2:
        return None  # outside the cluster: assumed to answer
    svc = cluster.get("Service", parts[1] if len(parts) == 2 else namespace, parts[0]) or {}
    address = f"{(svc.get('spec') or {}).get('clusterIP', host)}:{port}"
    refused = f'Get "{url}": dial tcp {address}: connect: connection refused'
    svc_port = next((p for p in (svc.get("spec") or {}).get("ports") or [] if p.get("port") == port), None)
    selector = (svc.get("spec") or {}).get("selector") or {}
    if svc_port is None or not selector:
        return refused
    pods = [p for p in cluster.list("Pod", svc["metadata"].get("namespace"))
            if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
            and pod_ready(p) and not p["metadata"].get("deletionTimestamp")]
    if any(_listens(cluster, p, _target(svc_port, p) or -1) for p in pods):
        return None
    return refused


def call_logs(cluster: Cluster, namespace: str, urls: list[str]) -> list[str]:
    out = []
    for url in urls:
        error = call_error(cluster, namespace, url)
        if error is not None:
            out.append(f"level=error msg=\"upstream request failed\" error=\"{error.replace(chr(34), chr(92) + chr(34))}\"")
    return out
