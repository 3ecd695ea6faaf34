"""Discovery: the documents kubectl and the Python client read before touching a resource."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sim.api_support import Served, request, serve


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("discovery")) as served:
        yield served


def test_version_is_1_32(sim: Served) -> None:
    reply = request(sim.url, "GET", "/version")
    assert reply.status == 200
    assert reply.json()["gitVersion"].startswith("v1.32.")


def test_core_group_lists_pods_with_subresources(sim: Served) -> None:
    doc = request(sim.url, "GET", "/api/v1").json()
    by_name = {r["name"]: r for r in doc["resources"]}
    assert doc["kind"] == "APIResourceList" and doc["groupVersion"] == "v1"
    assert by_name["pods"]["kind"] == "Pod" and by_name["pods"]["namespaced"] is True
    assert by_name["pods"]["shortNames"] == ["po"]
    assert by_name["pods/log"]["verbs"] == ["get"]
    assert by_name["nodes"]["namespaced"] is False


def test_group_list_names_every_served_group(sim: Served) -> None:
    groups = {g["name"]: g for g in request(sim.url, "GET", "/apis").json()["groups"]}
    assert {"apps", "batch", "networking.k8s.io", "autoscaling", "events.k8s.io", "metrics.k8s.io",
            "storage.k8s.io", "rbac.authorization.k8s.io", "admissionregistration.k8s.io"} <= set(groups)
    assert groups["autoscaling"]["preferredVersion"]["groupVersion"] == "autoscaling/v2"


def test_scale_subresource_speaks_autoscaling_v1(sim: Served) -> None:
    apps = {r["name"]: r for r in request(sim.url, "GET", "/apis/apps/v1").json()["resources"]}
    assert apps["deployments/scale"] == {"name": "deployments/scale", "singularName": "", "namespaced": True,
                                         "kind": "Scale", "verbs": ["get", "patch", "update"],
                                         "group": "autoscaling", "version": "v1"}


def test_metrics_are_read_only(sim: Served) -> None:
    metrics = {r["name"]: r for r in request(sim.url, "GET", "/apis/metrics.k8s.io/v1beta1").json()["resources"]}
    assert metrics["pods"]["kind"] == "PodMetrics" and metrics["pods"]["verbs"] == ["get", "list"]


AGGREGATED = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


def test_aggregated_discovery_is_served_to_kubectl_1_32(sim: Served) -> None:
    reply = request(sim.url, "GET", "/api", headers={"Accept": AGGREGATED})
    assert reply.headers["content-type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    (core,) = reply.json()["items"]
    pods = next(r for r in core["versions"][0]["resources"] if r["resource"] == "pods")
    assert pods["scope"] == "Namespaced" and pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert {s["subresource"] for s in pods["subresources"]} == {"status", "log", "eviction"}
    groups = request(sim.url, "GET", "/apis", headers={"Accept": AGGREGATED}).json()["items"]
    apps = next(g for g in groups if g["metadata"]["name"] == "apps")
    deployments = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def test_plain_accept_gets_the_legacy_documents(sim: Served) -> None:
    reply = request(sim.url, "GET", "/apis", headers={"Accept": "application/json"})
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["kind"] == "APIGroupList"


@pytest.mark.parametrize("path", ["/apis/nope.example.com/v1", "/apis/apps/v9", "/openapi/v2", "/nothing",
                                  "/openapi/v3/apis/apps/v9"])
def test_unknown_paths_are_a_404_status(sim: Served, path: str) -> None:
    reply = request(sim.url, "GET", path)
    assert reply.status == 404
    assert reply.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": "the server could not find the requested resource",
                            "reason": "NotFound", "code": 404}


def test_kubectl_api_resources_reads_discovery(sim: Served) -> None:
    result = sim.kubectl("api-resources", "--api-group=apps", "--no-headers")
    assert result.returncode == 0, result.stderr
    names = {line.split()[0] for line in result.stdout.splitlines()}
    assert names == {"deployments", "replicasets", "statefulsets", "daemonsets", "controllerrevisions"}


def test_kubectl_version_sees_the_server(sim: Served) -> None:
    result = sim.kubectl("version")
    assert result.returncode == 0, result.stderr
    assert "Server Version: v1.32.4" in result.stdout


def test_openapi_v3_declares_field_validation_so_kubectl_apply_validates_server_side(sim: Served) -> None:
    index = request(sim.url, "GET", "/openapi/v3").json()["paths"]
    doc = request(sim.url, "GET", index["apis/apps/v1"]["serverRelativeURL"]).json()
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert {"name": "fieldValidation", "in": "query"}.items() <= patch["parameters"][0].items()


def test_python_client_reads_version_through_the_kubeconfig(sim: Served) -> None:
    from kubernetes import client

    from tests.sim.api_support import python_client

    info = client.VersionApi(python_client(sim.kubeconfig)).get_code()
    assert (info.major, info.minor) == ("1", "32")
