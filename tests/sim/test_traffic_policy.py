"""NetworkPolicy and DNS in the traffic model, read through kubectl logs as a person would.

Wordings: Go's net/http client reports a dropped connection as `dial tcp 10.96.4.7:8080: i/o timeout`
(net.OpError for a dial that hits its deadline), a refused one as `connect: connection refused`, and a
resolver whose server does not answer as `lookup x on 10.96.0.10:53: read udp 10.244.1.5:43210->
10.96.0.10:53: i/o timeout` (net/dnsclient_unix.go). Policy semantics are the networking.k8s.io/v1
NetworkPolicy spec's (https://kubernetes.io/docs/concepts/services-networking/network-policies/);
resolv.conf contents the kubelet writes per dnsPolicy are from
https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-s-dns-policy.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sim.derive.dns import resolv_conf
from tests.sim.scenario_support import deployment, kubectl, pods_of, running, service

URL = "http://ledger.payments.svc.cluster.local/v1/balance"


def _objects(*policies: dict[str, Any], caller: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [
        deployment("ledger", "payments", "registry.local/ledger:2.4", replicas=2,
                   ports=[{"containerPort": 8080, "name": "http"}]),
        service("ledger", "payments", {"app": "ledger"}, 80, "http"),
        caller or deployment("checkout", "payments", "registry.local/checkout:1.9"),
        *policies,
    ]


WORLD = {"images": {"registry.local/ledger": {"listens": [8080]},
                    "registry.local/checkout": {"listens": [3000], "calls": [URL]}},
         "external_hosts": ["api.stripe.com"]}


def _policy(name: str, spec: dict[str, Any], namespace: str = "payments") -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


ONLY_BILLING = _policy("ledger-ingress", {
    "podSelector": {"matchLabels": {"app": "ledger"}}, "policyTypes": ["Ingress"],
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "billing"}}}], "ports": [{"port": 8080}]}]})


def _errors(log: str) -> list[str]:
    return re.findall(r'error="(.*)"', log.replace('\\"', '"'))


def _caller_log(sim: Any) -> str:
    result = kubectl(sim, "logs", "-n", "payments", "deploy/checkout")
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(("policies", "expected"), [
    ((), None),
    ((ONLY_BILLING,), "i/o timeout"),
    ((_policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress"]}),), "i/o timeout"),
    ((_policy("allow-checkout", {"podSelector": {"matchLabels": {"app": "ledger"}}, "ingress": [{"from": [
        {"podSelector": {"matchLabels": {"app": "checkout"}}}], "ports": [{"port": "http"}]}]}),), None),
    ((_policy("wrong-port", {"podSelector": {"matchLabels": {"app": "ledger"}}, "ingress": [{"from": [
        {"podSelector": {"matchLabels": {"app": "checkout"}}}], "ports": [{"port": 9090}]}]}),), "i/o timeout"),
    ((_policy("by-namespace", {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "payments"}}}]}]}),), None),
    ((_policy("other-namespace", {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "billing"}}}]}]}),), "i/o timeout"),
    ((_policy("pod-cidr", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/16"}}]}]}),),
     None),
    ((_policy("pod-cidr-except", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {
        "cidr": "10.244.0.0/16", "except": ["10.244.0.0/17", "10.244.128.0/17"]}}]}]}),), "i/o timeout"),
    ((_policy("egress-ledger-only", {"podSelector": {"matchLabels": {"app": "checkout"}}, "policyTypes": ["Egress"],
                                     "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "ledger"}}}]}]}),),
     "read udp"),
    ((_policy("egress-with-dns", {"podSelector": {"matchLabels": {"app": "checkout"}}, "policyTypes": ["Egress"],
                                  "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "ledger"}}}]},
                                             {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {
                                                 "k8s-app": "kube-dns"}}}], "ports": [{"port": 53, "protocol": "UDP"}]}
                                             ]}),), None),
], ids=["none", "only-billing", "default-deny", "named-port", "wrong-port", "namespace-selector",
        "other-namespace", "ip-block", "ip-block-except", "egress-blocks-dns", "egress-allows-dns"])
def test_network_policy_decides_whether_a_call_gets_through(tmp_path: Path, policies: tuple[dict[str, Any], ...],
                                                            expected: str | None) -> None:
    with running(tmp_path, "netpol", _objects(*policies), world=WORLD) as sim:
        errors = _errors(_caller_log(sim))
        cluster_ip = sim.store.get("Service", "payments", "ledger")["spec"]["clusterIP"]
    if expected is None:
        assert errors == []
    elif expected == "i/o timeout":
        assert errors == [f'Get "{URL}": dial tcp {cluster_ip}:80: i/o timeout']
    else:
        (error,) = errors
        assert re.fullmatch(rf'Get "{re.escape(URL)}": dial tcp: lookup ledger\.payments\.svc\.cluster\.local on '
                            r"10\.96\.0\.10:53: read udp 10\.244\.\d+\.\d+:\d+->10\.96\.0\.10:53: i/o timeout", error)


def test_fixing_the_policy_through_the_api_lets_the_calls_through(tmp_path: Path) -> None:
    with running(tmp_path, "netpol-fix", _objects(ONLY_BILLING), world=WORLD) as sim:
        assert len(_errors(_caller_log(sim))) == 1
        patched = kubectl(sim, "patch", "netpol", "ledger-ingress", "-n", "payments", "--type=json", "-p",
                          '[{"op":"add","path":"/spec/ingress/0/from/-",'
                          '"value":{"podSelector":{"matchLabels":{"app":"checkout"}}}}]')
        assert patched.returncode == 0, patched.stderr
        assert _errors(_caller_log(sim)) == []
        described = kubectl(sim, "describe", "netpol", "-n", "payments", "ledger-ingress").stdout
    assert "PodSelector: app=checkout" in described and "To Port: 8080/TCP" in described


def test_a_dropped_connection_is_a_timeout_but_a_closed_port_is_refused(tmp_path: Path) -> None:
    world = {"images": {"registry.local/ledger": {"listens": [9999]},
                        "registry.local/checkout": {"listens": [3000], "calls": [URL]}}}
    with running(tmp_path, "refused", _objects(), world=world) as sim:
        cluster_ip = sim.store.get("Service", "payments", "ledger")["spec"]["clusterIP"]
        assert _errors(_caller_log(sim)) == [f'Get "{URL}": dial tcp {cluster_ip}:80: connect: connection refused']


def _caller(dns_policy: str | None, dns_config: dict[str, Any] | None = None, host_network: bool = False) -> dict:
    caller = deployment("checkout", "payments", "registry.local/checkout:1.9")
    spec = caller["spec"]["template"]["spec"]
    if dns_policy:
        spec["dnsPolicy"] = dns_policy
    if dns_config:
        spec["dnsConfig"] = dns_config
    if host_network:
        spec["hostNetwork"] = True
    return caller


@pytest.mark.parametrize(("caller", "calls", "expected"), [
    (_caller(None), ["http://ledger/x", "http://ledger.payments/x", "http://ledger.payments.svc/x",
                     "http://api.stripe.com/v1"], []),
    (_caller("Default"), ["http://ledger.payments.svc.cluster.local/x"],
     ["lookup ledger.payments.svc.cluster.local on 172.18.0.1:53: no such host"]),
    (_caller("Default"), ["http://api.stripe.com/v1"], []),
    (_caller("ClusterFirst", host_network=True), ["http://ledger/x"], ["lookup ledger on 172.18.0.1:53: no such host"]),
    (_caller("ClusterFirstWithHostNet", host_network=True), ["http://ledger/x"], []),
    (_caller("None", {"nameservers": ["10.96.0.10"], "searches": ["svc.cluster.local"]}),
     ["http://ledger/x", "http://ledger.payments/x"], ["lookup ledger on 10.96.0.10:53: no such host"]),
    (_caller("None", {"nameservers": ["1.1.1.1"]}), ["http://ledger.payments.svc.cluster.local/x"],
     ["lookup ledger.payments.svc.cluster.local on 1.1.1.1:53: no such host"]),
    (_caller("ClusterFirst", {"searches": ["payments.svc.cluster.local"], "options": [{"name": "ndots", "value": "1"}]}),
     ["http://ledger/x"], []),
], ids=["cluster-first", "default-no-cluster-names", "default-external", "host-network-falls-back",
        "with-host-net", "none-with-searches", "none-external-dns", "dns-config-appends"])
def test_dns_policy_and_config_decide_resolution(tmp_path: Path, caller: dict[str, Any], calls: list[str],
                                                 expected: list[str]) -> None:
    world = {**WORLD, "images": {**WORLD["images"], "registry.local/checkout": {"listens": [3000], "calls": calls}}}
    with running(tmp_path, "dns", _objects(caller=caller), world=world) as sim:
        errors = _errors(_caller_log(sim))
    assert [e.split("dial tcp: ", 1)[-1] for e in errors] == expected


def test_resolv_conf_is_the_kubelets(tmp_path: Path) -> None:
    pod = {"spec": {"dnsPolicy": "ClusterFirst", "dnsConfig": {"nameservers": ["1.2.3.4"], "searches": ["corp.local"],
                                                                "options": [{"name": "ndots", "value": "2"}]}}}
    conf = resolv_conf(pod, "payments")
    assert conf.nameservers == ("10.96.0.10", "1.2.3.4")
    assert conf.searches == ("payments.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.local")
    assert conf.ndots == 2
    assert resolv_conf({"spec": {"dnsPolicy": "None"}}, "x").nameservers == ()


def test_a_process_that_resolves_its_urls_fails_when_egress_blocks_dns(tmp_path: Path) -> None:
    job_world = {"images": {"curlimages/curl": {"resolve_hosts": {}}}, "external_hosts": ["example.com"]}
    curl = deployment("fetch", "payments", "curlimages/curl:8.10.1", command=["curl", "-sf", "http://example.com/"])
    deny = _policy("deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]})
    with running(tmp_path, "dns-egress", [curl, deny], world=job_world) as sim:
        (pod,) = pods_of(sim, "payments", "fetch")
        log = kubectl(sim, "logs", "-n", "payments", pod["metadata"]["name"], "--previous").stdout
        assert log.strip().endswith("curl: (6) Could not resolve host: example.com")
        assert kubectl(sim, "delete", "netpol", "-n", "payments", "deny-egress").returncode == 0
        (pod,) = [p for p in pods_of(sim, "payments", "fetch") if not p["metadata"].get("deletionTimestamp")]
        statuses = pod["status"]["containerStatuses"][0]
        assert "running" in statuses["state"], statuses



def test_restoring_a_deleted_service_makes_its_name_resolve_again(tmp_path: Path) -> None:
    objects = _objects()[:1] + [_objects()[2]]  # ledger's Deployment and the caller, no ledger Service
    with running(tmp_path, "service-deleted", objects, world=WORLD) as sim:
        assert _errors(_caller_log(sim)) == [
            f'Get "{URL}": dial tcp: lookup ledger.payments.svc.cluster.local on 10.96.0.10:53: no such host']
        created = kubectl(sim, "apply", "-f", "-", input_text=json.dumps(service("ledger", "payments", {"app": "ledger"},
                                                                                   80, "http")))
        assert created.returncode == 0, created.stderr
        assert _errors(_caller_log(sim)) == []
