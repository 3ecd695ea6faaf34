"""The ingress controller: an Ingress whose class exists is served and gets the load balancer's address.

An Ingress names its class with `spec.ingressClassName` (or the legacy `kubernetes.io/ingress.class`
annotation); without one, the IngressClass annotated `ingressclass.kubernetes.io/is-default-class: "true"`
is used. A controller serves only the classes whose IngressClass exists: it records `Scheduled for sync`
(ingress-nginx's Normal `Sync` event) and publishes its address in `status.loadBalancer.ingress`. An
Ingress of a class that does not exist is ignored by every controller: no address, no event, and
external requests to its hosts fail.
"""

from __future__ import annotations

from sim.derive.context import Cluster, Obj

LOAD_BALANCER_IP = "172.18.255.200"
DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"


def ingress_class(cluster: Cluster, ingress: Obj) -> str | None:
    spec, meta = ingress.get("spec") or {}, ingress.get("metadata") or {}
    named = spec.get("ingressClassName") or (meta.get("annotations") or {}).get("kubernetes.io/ingress.class")
    if named:
        return str(named)
    return next((c["metadata"]["name"] for c in cluster.list("IngressClass")
                 if ((c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS)) == "true"), None)


def derive_ingresses(cluster: Cluster) -> None:
    for ingress in cluster.list("Ingress"):
        name = ingress_class(cluster, ingress)
        served = name is not None and cluster.get("IngressClass", None, name) is not None
        status = {"loadBalancer": {"ingress": [{"ip": LOAD_BALANCER_IP}]} if served else {}}
        if (ingress.get("status") or {}) != status:
            ingress["status"] = status
            cluster.save(ingress)
            if served:
                cluster.event(ingress, "Sync", "Scheduled for sync", component="nginx-ingress-controller")
