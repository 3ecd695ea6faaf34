"""Label and field selectors: the grammar, Kubernetes' matching rules, and list filtering over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sim.errors import ApiError
from sim.selectors import field_matcher, label_matcher
from tests.sim.api_support import Served, request, serve

WEB = {"metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web", "tier": "front"}}}
DB = {"metadata": {"name": "db-0", "namespace": "shop", "labels": {"app": "db"}}}
BARE = {"metadata": {"name": "bare", "namespace": "shop"}}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", {"web-1"}),
        ("app==web", {"web-1"}),
        ("app!=web", {"db-0", "bare"}),  # != matches objects without the key
        ("app in (web, db)", {"web-1", "db-0"}),
        ("app notin (web)", {"db-0", "bare"}),
        ("tier", {"web-1"}),
        ("!tier", {"db-0", "bare"}),
        ("app=web,tier=front", {"web-1"}),
        ("app in (web,db),!tier", {"db-0"}),
        ("", {"web-1", "db-0", "bare"}),
    ],
    ids=lambda v: repr(v) if isinstance(v, str) else None,
)
def test_label_selector_matches_like_kubernetes(selector: str, expected: set[str]) -> None:
    matches = label_matcher(selector)
    assert {o["metadata"]["name"] for o in (WEB, DB, BARE) if matches(o)} == expected


@pytest.mark.parametrize("selector", ["app=", "app in web", "app in (web", "a b", "app=we b", "=web", "app=-x"])
def test_malformed_label_selector_is_400(selector: str) -> None:
    if selector == "app=":  # an empty value is legal: it matches an empty label
        assert label_matcher(selector)({"metadata": {"labels": {"app": ""}}})
        return
    with pytest.raises(ApiError) as info:
        label_matcher(selector)
    assert info.value.code == 400 and "unable to parse requirement" in info.value.message


EVENT = {"metadata": {"name": "e1", "namespace": "shop"}, "type": "Warning", "reason": "BackOff",
         "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "shop", "uid": "u-1"}}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        (("involvedObject.name=web-1,involvedObject.namespace=shop,involvedObject.kind=Pod,"
          "involvedObject.uid=u-1"), True),
        ("involvedObject.uid=u-2", False),
        ("type!=Normal", True),
        ("reason==BackOff,type=Normal", False),
        ("metadata.name=e1", True),
        ("metadata.namespace!=shop", False),
    ],
)
def test_event_field_selectors(selector: str, matches: bool) -> None:
    assert field_matcher(selector, "Event")(EVENT) is matches


def test_unsupported_field_is_refused() -> None:
    with pytest.raises(ApiError) as info:
        field_matcher("spec.containers=x", "Pod")
    assert (info.value.code, info.value.message) == (400, "field label not supported: spec.containers")


def test_escaped_comma_stays_in_the_value() -> None:
    assert field_matcher(r"reason=a\,b", "Event")({"reason": "a,b", "metadata": {}})


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("selectors")) as served:
        yield served


def _names(sim: Served, path: str) -> list[str]:
    reply = request(sim.url, "GET", path)
    assert reply.status == 200, reply.body
    return [item["metadata"]["name"] for item in reply.json()["items"]]


def test_list_all_namespaces_with_phase_and_node(sim: Served) -> None:
    assert _names(sim, "/api/v1/pods?fieldSelector=status.phase%3DPending") == ["pending", "pull", "init-broken"]
    assert _names(sim, "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1,status.phase!%3DPending") == [
        "web-5d9c-ok", "web-5d9c-oom"]


def test_list_namespaced_with_label_selector(sim: Served) -> None:
    assert _names(sim, "/api/v1/namespaces/shop/pods?labelSelector=app%20in%20(web)") == [
        "web-5d9c-ok", "web-5d9c-oom"]
    assert _names(sim, "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb") == []


def test_list_object_carries_kind_and_resource_version(sim: Served) -> None:
    doc = request(sim.url, "GET", "/apis/apps/v1/namespaces/shop/deployments").json()
    assert (doc["kind"], doc["apiVersion"]) == ("DeploymentList", "apps/v1")
    assert int(doc["metadata"]["resourceVersion"]) == sim.store.resource_version


def test_bad_selector_over_http_is_a_400_status(sim: Served) -> None:
    reply = request(sim.url, "GET", "/api/v1/pods?fieldSelector=spec.image%3Dx")
    assert reply.status == 400
    assert reply.json()["reason"] == "BadRequest"
    assert reply.json()["message"] == "field label not supported: spec.image"


def test_python_client_selectors(sim: Served) -> None:
    from kubernetes import client

    from tests.sim.api_support import python_client

    v1 = client.CoreV1Api(python_client(sim.kubeconfig))
    pods = v1.list_pod_for_all_namespaces(label_selector="app=web,tier=front", field_selector="status.phase=Running")
    assert [p.metadata.name for p in pods.items] == ["web-5d9c-ok", "web-5d9c-oom"]
    events = v1.list_namespaced_event("shop", field_selector="involvedObject.name=web-5d9c-oom,type=Warning")
    assert [(e.reason, e.count) for e in events.items] == [("BackOff", 12)]
