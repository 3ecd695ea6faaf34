"""Checks for traffic that does not reach healthy pods: selector, targetPort, not-ready or missing Service, and a
NetworkPolicy that drops a caller's connections."""

from __future__ import annotations

import re
from typing import Any

from agents.diagnosis import ResourceRef
from agents.rules import pods
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.registry import check
from agents.toolsets.kubernetes import netpolicy


def _services(facts: Facts) -> list[dict[str, Any]]:
    focus = facts.focus.get("service")
    services = facts.all("Service", facts.focus.get("namespace"))
    return sorted(services, key=lambda svc: svc["metadata"]["name"] != focus)


def _endpoints(facts: Facts, service: dict[str, Any]) -> dict[str, Any] | None:
    return facts.get("Endpoints", service["metadata"].get("namespace"), service["metadata"]["name"])


def _addresses(endpoints: dict[str, Any]) -> tuple[int, int]:
    subsets = endpoints.get("subsets") or []
    return (sum(len(s.get("addresses") or []) for s in subsets), sum(len(s.get("notReadyAddresses") or []) for s in subsets))


def _selected(facts: Facts, selector: dict[str, str]) -> list[dict[str, Any]]:
    return [pod for pod in facts.pods() if selector and all(pod["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())]


def _ref(obj: dict[str, Any]) -> ResourceRef:
    return ResourceRef(kind=obj["kind"], namespace=obj["metadata"].get("namespace"), name=obj["metadata"]["name"])


def _candidates(facts: Facts, service: dict[str, Any]) -> list[dict[str, Any]]:
    """Pods the Service was probably meant for: they carry the selector's values (under any key) or the Service's
    name as a label value, and serve its target port; merely sharing a label key (`app`) counts for little."""
    selector = service.get("spec", {}).get("selector") or {}
    name = service["metadata"]["name"]
    ports = {p.get("targetPort", p.get("port")) for p in service.get("spec", {}).get("ports") or []}

    def score(pod: dict[str, Any]) -> int:
        labels = pod["metadata"].get("labels", {})
        values = set(labels.values())
        served = {port.get(field) for c in pods.containers(pod) for port in c.get("ports") or []
                  for field in ("name", "containerPort")}
        return (3 * sum(1 for v in selector.values() if v in values) + 2 * (name in values)
                + sum(1 for k in selector if k in labels) + (1 if ports & served else 0))

    ranked = sorted((p for p in facts.pods() if score(p) > 1), key=score, reverse=True)
    return [p for p in ranked if score(p) == score(ranked[0])] if ranked else []


@check("service_selector_mismatch")
def service_selector_mismatch(facts: Facts) -> Finding | None:
    """The Service has no endpoints because its selector matches no pod's labels."""
    for service in _services(facts):
        endpoints = _endpoints(facts, service)
        selector = service.get("spec", {}).get("selector") or {}
        if not selector or (endpoints is None and not facts.pods()) or _selected(facts, selector):
            continue
        if endpoints is not None and any(_addresses(endpoints)):
            continue
        wanted = ", ".join(f"{k}={v}" for k, v in selector.items())
        candidates = _candidates(facts, service)
        if not candidates:
            return Finding("service_unreachable", f"Service {service['metadata']['name']} selects {wanted}, which no pod carries, "
                           "so it has no endpoints.", 0.7, _ref(service), (Clue.of(*selector.values(), call_id=None),))
        labels = candidates[0]["metadata"].get("labels", {})
        # The candidate's labels that carry the selector's values (or the Service's name); else its labels under the
        # selector's keys.
        wanted_values = set(selector.values()) | {service["metadata"]["name"]}
        new = {k: v for k, v in labels.items() if v in wanted_values} or {k: labels[k] for k in selector if k in labels}
        have = ", ".join(f"{k}={v}" for k, v in new.items())
        cause = (f"Service {service['metadata']['name']} selects {wanted} but the pods are labelled {have}, "
                 "so it has no endpoints.")
        fix = FixDraft("spec.selector", new, "select the labels the serving pods carry", resource=_ref(service))
        clue_value = next(iter(selector.values()))
        return Finding("service_unreachable", cause, 0.9, _ref(service),
                       (Clue.of(f"{next(iter(selector))}: {clue_value}", f"{next(iter(selector))}={clue_value}", clue_value,
                                call_id=facts.source("Service", service["metadata"].get("namespace"), service["metadata"]["name"])),),
                       (fix,), related=tuple(pods.ref(p) for p in candidates[:1]))
    return None


def _declared_ports(pod: dict[str, Any]) -> dict[Any, int]:
    ports: dict[Any, int] = {}
    for container in pods.containers(pod):
        for port in container.get("ports") or []:
            ports[port.get("containerPort")] = port.get("containerPort")
            if port.get("name"):
                ports[port["name"]] = port.get("containerPort")
    return ports


@check("service_target_port_mismatch")
def service_target_port_mismatch(facts: Facts) -> Finding | None:
    """The Service sends traffic to a targetPort its pods do not declare (endpoints exist, callers fail)."""
    for service in _services(facts):
        spec = service.get("spec", {})
        selected = _selected(facts, spec.get("selector") or {})
        declared = next((ports for p in selected if (ports := _declared_ports(p))), {})
        checked = {c.get("targetPort"): c.get("foundOnPods") for c in spec.get("portChecks") or []}
        for i, port in enumerate(spec.get("ports") or [{"port": c.get("port"), "targetPort": t} for t, c in
                                                        zip(checked, spec.get("portChecks") or [], strict=False)]):
            target = port.get("targetPort", port.get("port"))
            if checked.get(target) is not False and (not declared or target in declared):
                continue
            numbers = sorted({v for v in declared.values() if isinstance(v, int)})
            new = port.get("port") if port.get("port") in numbers else (numbers[0] if numbers else None)
            where = f"spec.ports[name={port['name']}].targetPort" if port.get("name") else f"spec.ports[{i}].targetPort"
            listens = f"its pods declare {', '.join(map(str, numbers))}" if numbers else "its pods do not declare it"
            cause = f"Service {service['metadata']['name']} forwards port {port.get('port')} to targetPort {target}, but {listens}."
            return Finding("service_unreachable", cause, 0.85 if new is not None else 0.8, _ref(service),
                           (Clue.of(f"targetPort {target}: NOT declared", f"-> {target}", str(target),
                                    call_id=facts.source("Service", service["metadata"].get("namespace"), service["metadata"]["name"])),),
                           (FixDraft(where, new, "target the port the container declares", resource=_ref(service)),),
                           related=tuple(pods.ref(p) for p in selected[:1]))
    return None


@check("service_endpoints_not_ready")
def service_endpoints_not_ready(facts: Facts) -> Finding | None:
    """The Service's pods exist but are not Ready: the pods are the fault (a pod check says why)."""
    for service in _services(facts):
        endpoints = _endpoints(facts, service)
        if endpoints is None:
            continue
        ready, not_ready = _addresses(endpoints)
        if ready or not not_ready:
            continue
        return Finding("service_unreachable", f"Service {service['metadata']['name']} has {not_ready} endpoint(s), none Ready: "
                       "its pods fail readiness.", 0.5, _ref(service), (Clue.of("notReadyAddresses", call_id=None),))
    return None


@check("service_missing")
def service_missing(facts: Facts) -> Finding | None:
    """The Service the alert names, or the one its callers' requests fail against, does not exist."""
    wanted = ((facts.focus.get("service"), facts.focus.get("namespace")),
              (facts.focus.get("upstream_service"), facts.focus.get("upstream_namespace") or facts.focus.get("namespace")))
    for name, namespace in wanted:
        call_id = facts.missing.get(("Service", namespace, name or ""))
        if not name or call_id is None:
            continue
        ref = ResourceRef(kind="Service", namespace=namespace, name=name)
        return Finding("service_unreachable", f"Service {name} does not exist; callers cannot resolve it.", 0.85, ref,
                       (Clue.of("not found", name, call_id=call_id),),
                       (FixDraft("spec", None, "restore the Service manifest (selector = the pods' labels)", resource=ref),))
    return None


_DIAL_TIMEOUT = re.compile(r"dial tcp \d{1,3}(?:\.\d{1,3}){3}:\d+: i/o timeout")
_GENERATED_LABELS = ("pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name")


@check("network_policy_blocks_caller")
def network_policy_blocks_caller(facts: Facts) -> Finding | None:
    """The caller's connections to its dependency time out because a NetworkPolicy isolating the dependency's
    pods admits none of the caller's pods (a dropped SYN is a timeout, not a refusal)."""
    caller_name, upstream = facts.focus.get("backend_pod") or facts.focus.get("pod"), facts.focus.get("upstream_service")
    namespace = facts.focus.get("namespace")
    upstream_ns = facts.focus.get("upstream_namespace") or namespace
    if not caller_name or not upstream:
        return None
    timed_out = next(((log, line) for log in facts.logs_for(caller_name) for line in log.text.splitlines()
                      if _DIAL_TIMEOUT.search(line)), None)
    service = facts.get("Service", upstream_ns, upstream)
    caller = facts.get("Pod", namespace, caller_name)
    if timed_out is None or service is None or caller is None:
        return None
    spec = service.get("spec") or {}
    pod_labels = next(iter(spec.get("matchingPodLabels") or []), None) or spec.get("selector") or {}
    policies = netpolicy.ingress_isolating(facts.all("NetworkPolicy", upstream_ns), pod_labels)
    caller_labels = {k: v for k, v in (caller["metadata"].get("labels") or {}).items() if k not in _GENERATED_LABELS}
    if not policies or not caller_labels or any(netpolicy.admits(p, caller_labels, namespace or "default") for p in policies):
        return None
    policy = policies[0]
    name = policy["metadata"]["name"]
    peer: dict[str, Any] = {"podSelector": {"matchLabels": caller_labels}}
    if upstream_ns != namespace:
        peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    rules = (policy.get("spec") or {}).get("ingress") or []
    field, value = ("spec.ingress[0].from", [*(rules[0].get("from") or []), peer]) if rules else \
        ("spec.ingress", [{"from": [peer]}])
    admitted = "; ".join(netpolicy.rule_lines(policy))
    wanted = ", ".join(f"{k}={v}" for k, v in caller_labels.items())
    cause = (f"NetworkPolicy {name} isolates the {upstream} pods for ingress ({admitted}); the caller's pods ({wanted}) "
             f"are not admitted, so their connections to {upstream} are dropped and time out.")
    ref = ResourceRef(kind="NetworkPolicy", namespace=upstream_ns, name=name)
    log, line = timed_out
    return Finding("service_unreachable", cause, 0.88, ref,
                   (Clue.of(_DIAL_TIMEOUT.search(line).group(0), "i/o timeout", call_id=log.call_id),  # type: ignore[union-attr]
                    Clue.of(f"NetworkPolicy {name}", name, call_id=facts.source("NetworkPolicy", upstream_ns, name))),
                   (FixDraft(field, value, f"admit the pods labelled {wanted}", resource=ref),),
                   related=(pods.ref(caller), ResourceRef(kind="Service", namespace=upstream_ns, name=upstream)))
