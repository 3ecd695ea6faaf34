"""The incident API: token, listing with filters and cursor, detail with timeline, cancel, unknown cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from app.main import create_app
from app.settings import Settings
from tests.support.intake import API_TOKEN, WEBHOOK_TOKEN, ThreadedService, am_alert, am_payload, bearer, query


@pytest.fixture
def service(settings: Settings, tmp_path: Path) -> Iterator[ThreadedService]:
    clusters = tmp_path / "clusters.yaml"
    clusters.write_text("clusters:\n  prod-eu:\n    kubeconfig: prod-eu.kubeconfig\n")
    configured = settings.model_copy(update={"webhook_token": SecretStr(WEBHOOK_TOKEN), "workers": 0,
                                             "api_token": SecretStr(API_TOKEN), "clusters_file": clusters})
    with ThreadedService(lambda: create_app(configured)) as running:
        yield running


def api(service: ThreadedService, method: str, path: str, **kw: object) -> httpx.Response:
    return httpx.request(method, service.url + path, headers=bearer(API_TOKEN), timeout=10, **kw)  # type: ignore[arg-type]


def deliver(service: ThreadedService, *alerts: dict[str, object]) -> list[int]:
    reply = httpx.post(service.url + "/webhooks/alertmanager", json=am_payload(list(alerts)), headers=bearer(),
                       timeout=10)
    assert reply.status_code == 202, reply.text
    return list(reply.json()["incident_ids"])


def test_token_required(service: ThreadedService, settings: Settings) -> None:
    assert httpx.get(service.url + "/incidents", timeout=10).status_code == 401
    assert httpx.get(service.url + "/incidents", headers=bearer("nope"), timeout=10).status_code == 401


def test_unconfigured_token_says_so(settings: Settings) -> None:
    with ThreadedService(lambda: create_app(settings.model_copy(update={"workers": 0}))) as bare:
        reply = httpx.get(bare.url + "/incidents", headers=bearer(API_TOKEN), timeout=10)
    assert reply.status_code == 503
    assert reply.json()["detail"] == "the incident API is disabled: OPSGRAPH_API_TOKEN is not configured"


def test_list_filter_page_detail_and_cancel(service: ThreadedService) -> None:
    (shop,) = deliver(service, am_alert("KubePodCrashLooping", "f1", namespace="shop", pod="cart-7f9c6d5b8-k2x4q"))
    (node,) = deliver(service, am_alert("KubeNodeNotReady", "f2", node="worker-1", severity="critical"))
    (sys_,) = deliver(service, am_alert("KubePodNotReady", "f3", namespace="kube-system", pod="coredns-7f9c6d5b8-m8zzt",
                                        severity="critical", cluster="prod-eu"))
    page = api(service, "GET", "/incidents", params={"limit": 2}).json()
    assert [i["id"] for i in page["items"]] == [sys_, node]
    rest = api(service, "GET", "/incidents", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [i["id"] for i in rest["items"]] == [shop] and rest["next_cursor"] is None
    assert [i["id"] for i in api(service, "GET", "/incidents", params={"priority": "P0"}).json()["items"]] == [sys_]
    assert [i["id"] for i in api(service, "GET", "/incidents", params={"cluster": "prod-eu"}).json()["items"]] == [sys_]
    assert [i["id"] for i in api(service, "GET", "/incidents", params={"namespace": "shop"}).json()["items"]] == [shop]

    detail = api(service, "GET", f"/incidents/{shop}").json()
    assert detail["resource"] == {"kind": "Deployment", "name": "cart"} and detail["priority"] == "P2"
    assert detail["thread_id"] == str(shop) and detail["diagnosis"] is None and detail["pr"] is None
    assert [a["fingerprint"] for a in detail["alerts"]] == ["f1"]
    assert [e["kind"] for e in detail["timeline"]] == ["opened", "alert"]

    cancelled = api(service, "POST", f"/incidents/{shop}/cancel", json={"reason": "known maintenance"})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["timeline"][-1]["message"] == "cancelled by api: known maintenance"
    again = api(service, "POST", f"/incidents/{shop}/cancel")
    assert again.status_code == 409
    assert again.json()["detail"] == f"incident {shop} cannot go from cancelled to cancelled; it stays cancelled"
    assert api(service, "GET", "/incidents/999999").status_code == 404
    assert [i["id"] for i in api(service, "GET", "/incidents", params={"status": "cancelled"}).json()["items"]] == [shop]


def test_unknown_cluster_fails_with_a_visible_reason_and_absorbs_the_storm(service: ThreadedService) -> None:
    ids = deliver(service, *[am_alert("KubePodCrashLooping", f"u{n}", namespace="shop", cluster="mars",
                                      pod=f"cart-7f9c6d5b8-{s}") for n, s in enumerate(["k2x4q", "m8zzt", "p4w2v"])])
    assert len(set(ids)) == 1
    detail = api(service, "GET", f"/incidents/{ids[0]}").json()
    assert detail["status"] == "failed"
    assert detail["status_reason"].startswith("unknown cluster 'mars': it is not in the cluster registry "
                                              "(known: default, prod-eu)")
    assert len(detail["alerts"]) == 3


def test_since_lists_only_incidents_opened_from_then_on(service: ThreadedService, database_url: str) -> None:
    (old,) = deliver(service, am_alert("KubePodCrashLooping", "s1", namespace="shop", pod="cart-7f9c6d5b8-k2x4q"))
    (new,) = deliver(service, am_alert("KubePodCrashLooping", "s2", namespace="web", pod="web-7f9c6d5b8-k2x4q"))
    query(database_url, "UPDATE incidents SET created_at = '2026-11-01T00:00:00Z' WHERE id = %s RETURNING id", (old,))
    listed = api(service, "GET", "/incidents", params={"since": "2026-11-15T00:00:00Z"}).json()
    assert [i["id"] for i in listed["items"]] == [new]
    everything = api(service, "GET", "/incidents", params={"since": "2026-10-01T00:00:00+00:00"}).json()
    assert [i["id"] for i in everything["items"]] == [new, old]
    bad = api(service, "GET", "/incidents", params={"since": "last tuesday"})
    assert bad.status_code == 422 and "since" in bad.text


def test_the_cluster_label_is_configurable(settings: Settings, tmp_path: Path) -> None:
    clusters = tmp_path / "clusters.yaml"
    clusters.write_text("clusters:\n  prod-eu:\n    kubeconfig: prod-eu.kubeconfig\n")
    configured = settings.model_copy(update={"webhook_token": SecretStr(WEBHOOK_TOKEN), "workers": 0,
                                             "api_token": SecretStr(API_TOKEN), "clusters_file": clusters,
                                             "cluster_label": "k8s_cluster"})
    with ThreadedService(lambda: create_app(configured)) as running:
        (labelled,) = deliver(running, am_alert("KubePodCrashLooping", "c1", namespace="shop", k8s_cluster="prod-eu",
                                                pod="cart-7f9c6d5b8-k2x4q"))
        (unlabelled,) = deliver(running, am_alert("KubePodCrashLooping", "c2", namespace="web",
                                                  pod="web-7f9c6d5b8-k2x4q"))
        assert api(running, "GET", f"/incidents/{labelled}").json()["cluster"] == "prod-eu"
        assert api(running, "GET", f"/incidents/{unlabelled}").json()["cluster"] == "default"
