"""Endpoints of a Service next to the pods its selector matches and their ports: the three places a
"service unreachable" fault hides (selector, targetPort, readiness)."""

from __future__ import annotations

from typing import Any

from agents.toolsets.base import ToolEnv, ToolOutput
from agents.toolsets.kubernetes.netpolicy import ingress_isolating, rule_lines, selector_text
from agents.toolsets.kubernetes.reader import cluster_reader
from agents.toolsets.kubernetes.resources import clean
from agents.toolsets.kubernetes.render import labels, pod_ready, pod_status, table
from agents.toolsets.kubernetes.toolset import KUBERNETES
from agents.toolsets.kubernetes.workloads import DescribeParams

Obj = dict[str, Any]


def _container_ports(pod: Obj) -> list[Obj]:
    return [port for c in pod.get("spec", {}).get("containers") or [] for port in c.get("ports") or []]


def _target_found(target: Any, ports: list[Obj]) -> bool:
    if isinstance(target, str):
        return any(p.get("name") == target for p in ports)
    return not ports or any(p.get("containerPort") == target for p in ports)


@KUBERNETES.tool(params=DescribeParams, kind="Service", output_cap=6000, transformers=("redact", "truncate_head"))
def get_endpoints(env: ToolEnv, p: DescribeParams) -> ToolOutput:
    """A Service's endpoints (ready and not-ready addresses with their pods), its selector, the pods that
    selector matches (and the labels of pods in the namespace when none match), whether each targetPort
    exists on those pods, and the NetworkPolicies that isolate those pods with the clients they admit.
    Use it when traffic to a Service fails."""
    reader = cluster_reader(env)
    svc = reader.get("Service", p.namespace, p.name)
    endpoints = reader.maybe_get("Endpoints", p.namespace, p.name) or {}
    selector = svc.get("spec", {}).get("selector") or {}
    pods = reader.list("Pod", p.namespace)
    matching = [pod for pod in pods if selector and all(
        (pod["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())]
    rows, data_addresses = [], []
    for subset in endpoints.get("subsets") or []:
        ports = ",".join(f"{pt.get('port')}/{pt.get('protocol', 'TCP')}" for pt in subset.get("ports") or [])
        for ready, key in ((True, "addresses"), (False, "notReadyAddresses")):
            for address in subset.get(key) or []:
                target = (address.get("targetRef") or {}).get("name")
                rows.append([address.get("ip"), ports, "ready" if ready else "not ready", target or "-"])
                data_addresses.append({"ip": address.get("ip"), "ports": ports, "ready": ready, "pod": target})
    lines = [f"Service {p.namespace}/{p.name}: selector {labels(selector)}, type {svc['spec'].get('type', 'ClusterIP')}"]
    lines.append("Endpoints:" + ("  <none>" if not rows else ""))
    if rows:
        lines += ["  " + line for line in table(["ADDRESS", "PORTS", "STATE", "POD"], rows).splitlines()]
    port_checks = []
    for port in svc.get("spec", {}).get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        found = all(_target_found(target, _container_ports(pod)) for pod in matching) if matching else None
        port_checks.append({"port": port.get("port"), "targetPort": target, "foundOnPods": found})
        verdict = "no matching pods to check" if found is None else ("declared on the pods" if found
                                                                       else "NOT declared on the matching pods")
        lines.append(f"Port {port.get('port')} -> targetPort {target}: {verdict}")
    lines.append(f"Pods matching the selector: {len(matching)}")
    lines += [f"  {pod['metadata']['name']}  {pod_ready(pod)} {pod_status(pod)}  ports "
              + (",".join(f"{pt.get('containerPort')}{'(' + pt['name'] + ')' if pt.get('name') else ''}"
                          for pt in _container_ports(pod)) or "<none declared>") for pod in matching[:20]]
    if not matching and pods:
        seen = sorted({labels(pod["metadata"].get("labels")) for pod in pods})[:10]
        lines.append("Labels of pods in the namespace: " + "; ".join(seen))
    # A policy in front of the pods drops traffic without a trace in the endpoints: show the ones that isolate them.
    policies = [clean(policy) for policy in reader.list("NetworkPolicy", p.namespace)
                if any(ingress_isolating([policy], pod["metadata"].get("labels") or {}) for pod in matching)]
    for policy in policies[:10]:
        lines.append(f"NetworkPolicy {policy['metadata']['name']} isolates these pods for ingress (pod selector "
                     f"{selector_text(policy.get('spec', {}).get('podSelector'))}):")
        lines += [f"  {line}" for line in rule_lines(policy)]
    data = {"namespace": p.namespace, "service": p.name, "selector": selector, "addresses": data_addresses,
            "ports": port_checks, "matchingPods": [pod["metadata"]["name"] for pod in matching],
            "matchingPodLabels": [pod["metadata"].get("labels") or {} for pod in matching[:1]],
            "networkPolicies": policies[:10]}
    return ToolOutput("\n".join(lines), data)
