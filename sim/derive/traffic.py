"""What a running client sees when it calls a URL inside the cluster, for `calls` behaviour logs.

The call goes the way kube-proxy routes it: the name must resolve through the caller's resolv.conf
(sim.derive.dns), the Service must have a ready endpoint for the port, the NetworkPolicies on both
ends must let the connection through (sim.derive.netpol), and the endpoint pod must listen on the
target port; otherwise the client logs Go's net/http error (`dial tcp 10.96.4.7:9090: connect:
connection refused`; `dial tcp 10.96.4.7:8080: i/o timeout` when a policy drops the SYN; `dial tcp:
lookup x on 10.96.0.10:53: no such host`). Logs are rendered from the current Services and
endpoints, so a fix shows at once; they are not part of a pod's plan (a client does not restart).
"""

from __future__ import annotations

import re

from sim.derive.context import Cluster, Obj
from sim.derive.dns import lookup_error
from sim.derive.netpol import Endpoint, allowed
from sim.derive.world import owner_workload
from sim.derive.services import _target
from sim.derive.workloads import pod_ready
from sim.derive.world import behaviour

_URL = re.compile(r"^(?P<scheme>[a-z]+)://(?P<host>[^/:]+)(?::(?P<port>\d+))?", re.IGNORECASE)


def _listens(cluster: Cluster, pod: Obj, port: int) -> bool:
    namespace = pod["metadata"].get("namespace") or "default"
    for container in pod["spec"].get("containers") or []:
        b = behaviour(cluster.scenario.world, namespace, owner_workload(cluster, pod), container)
        declared = {p.get("containerPort") for p in container.get("ports") or []}
        if port in (b.listens if b.listens is not None else declared):
            return True
    return False


def call_error(cluster: Cluster, namespace: str, url: str, caller: Obj | None = None) -> str | None:
    """The client's error for one request to `url` from `caller` (a pod), or None when it succeeds."""
    match = _URL.match(url)
    if match is None:
        return None
    host = match["host"].lower()
    port = int(match["port"] or (443 if match["scheme"].lower() == "https" else 80))
    lookup = lookup_error(cluster, namespace, host, caller)
    if lookup is not None:
        return f'Get "{url}": dial tcp: {lookup}'
    parts = host.rstrip(".").removesuffix(".cluster.local").removesuffix(".svc").split(".")
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
    dropped = False
    for pod in pods:
        target = _target(svc_port, pod) or -1
        if caller is not None and allowed(cluster, Endpoint.of_pod(caller), Endpoint.of_pod(pod), target,
                                          svc_port.get("protocol", "TCP")) is not None:
            dropped = True  # the SYN is dropped: no answer at all, so the dial times out
        elif _listens(cluster, pod, target):
            return None
    return f'Get "{url}": dial tcp {address}: i/o timeout' if dropped else refused


def call_logs(cluster: Cluster, namespace: str, urls: list[str], caller: Obj | None = None) -> list[str]:
    out = []
    for url in urls:
        error = call_error(cluster, namespace, url, caller)
        if error is not None:
            out.append(f"level=error msg=\"upstream request failed\" error=\"{error.replace(chr(34), chr(92) + chr(34))}\"")
    return out
