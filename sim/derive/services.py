"""Services: a ClusterIP, and Endpoints/EndpointSlices from the selector and pod readiness.

Ready pods go to `addresses`, unready ones to `notReadyAddresses`. The target port is resolved per
pod (a named targetPort must exist on the pod); a wrong numeric targetPort still yields endpoints,
exactly as in a real cluster, so only traffic fails.
"""

from __future__ import annotations

from sim.derive.context import Cluster, Obj
from sim.derive.names import short_hash
from sim.derive.workloads import pod_ready


def _cluster_ip(svc: Obj) -> str:
    seed = short_hash(f"{svc['metadata'].get('namespace')}/{svc['metadata']['name']}")
    return f"10.96.{(seed >> 8) % 254 + 1}.{seed % 253 + 2}"


def _target(port: Obj, pod: Obj) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for c in pod["spec"].get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return int(p["containerPort"])
    return None


def derive_services(cluster: Cluster) -> None:
    for svc in cluster.list("Service"):
        spec = svc.setdefault("spec", {})
        meta = svc["metadata"]
        namespace = meta.get("namespace") or "default"
        if spec.get("type") != "ExternalName" and not spec.get("clusterIP"):
            spec["clusterIP"] = _cluster_ip(svc)
            spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        svc.setdefault("status", {"loadBalancer": {}})
        cluster.save(svc)
        selector = spec.get("selector")
        if not selector:
            continue  # endpoints of a selector-less Service are the user's
        pods = [
            p for p in cluster.list("Pod", namespace)
            if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
            and (p.get("status") or {}).get("podIP")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not p["metadata"].get("deletionTimestamp")
        ]
        subsets: dict[tuple, dict[str, list]] = {}
        for pod in pods:
            ports = []
            for port in spec.get("ports") or []:
                target = _target(port, pod)
                if target is None:
                    continue
                entry = {"port": target, "protocol": port.get("protocol", "TCP")}
                if port.get("name"):
                    entry["name"] = port["name"]
                ports.append(entry)
            if not ports:
                continue
            key = tuple(sorted((p.get("name", ""), p["port"]) for p in ports))
            group = subsets.setdefault(key, {"addresses": [], "notReadyAddresses": [], "ports": ports})
            address = {
                "ip": pod["status"]["podIP"],
                "nodeName": pod["spec"].get("nodeName"),
                "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod["metadata"]["name"],
                              "uid": pod["metadata"].get("uid")},
            }
            group["addresses" if pod_ready(pod) else "notReadyAddresses"].append(address)
        out = []
        for group in subsets.values():
            subset: Obj = {"ports": group["ports"]}
            for field in ("addresses", "notReadyAddresses"):
                if group[field]:
                    subset[field] = sorted(group[field], key=lambda a: a["ip"])
            out.append(subset)
        endpoints: Obj = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": meta["name"], "namespace": namespace, "labels": dict(meta.get("labels") or {})},
        }
        if out:
            endpoints["subsets"] = out
        existing = cluster.get("Endpoints", namespace, meta["name"])
        if existing is not None:
            endpoints["metadata"] = {**existing["metadata"], "labels": dict(meta.get("labels") or {})}
        cluster.save(endpoints)
        _slice(cluster, svc, pods)


def _slice(cluster: Cluster, svc: Obj, pods: list[Obj]) -> None:
    meta = svc["metadata"]
    namespace = meta.get("namespace") or "default"
    name = f"{meta['name']}-{format(short_hash(meta['name']) % 100000, '05d')}"
    ports = []
    for port in svc["spec"].get("ports") or []:
        target = _target(port, pods[0]) if pods else None
        entry = {"name": port.get("name", ""), "port": target or port.get("targetPort"), "protocol": port.get("protocol", "TCP")}
        ports.append(entry)
    endpoints = [
        {
            "addresses": [p["status"]["podIP"]],
            "conditions": {"ready": pod_ready(p), "serving": pod_ready(p), "terminating": False},
            "nodeName": p["spec"].get("nodeName"),
            "targetRef": {"kind": "Pod", "namespace": namespace, "name": p["metadata"]["name"],
                          "uid": p["metadata"].get("uid")},
        }
        for p in sorted(pods, key=lambda p: p["status"]["podIP"])
    ]
    obj: Obj = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": meta["name"],
                       "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": meta["name"], "uid": meta.get("uid"),
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "addressType": "IPv4",
        "endpoints": endpoints or None,
        "ports": ports,
    }
    existing = cluster.get("EndpointSlice", namespace, name)
    if existing is not None:
        obj["metadata"] = {**existing["metadata"], "labels": obj["metadata"]["labels"]}
    cluster.save(obj)
