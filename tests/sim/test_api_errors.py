"""Every failure is a metav1.Status with the real code, reason and wording; the server survives all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sim.api_support import Served, python_client, request, serve

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "fresh"},
       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path) as served:
        yield served


def _status(reply: Any, code: int, reason: str) -> dict[str, Any]:
    assert reply.status == code, reply.body
    body = reply.json()
    assert (body["kind"], body["apiVersion"], body["status"], body["code"], body["reason"]) == (
        "Status", "v1", "Failure", code, reason)
    return body


@pytest.mark.parametrize(
    ("method", "path", "body", "code", "reason", "message"),
    [
        ("GET", "/api/v1/namespaces/shop/pods/ghost", None, 404, "NotFound", 'pods "ghost" not found'),
        ("GET", "/apis/apps/v1/namespaces/shop/deployments/ghost", None, 404, "NotFound",
         'deployments.apps "ghost" not found'),
        ("GET", "/api/v1/namespaces/shop/widgets", None, 404, "NotFound",
         "the server could not find the requested resource"),
        ("GET", "/api/v1/namespaces/shop/pods/web-5d9c-ok/exec", None, 404, "NotFound",
         "the server could not find the requested resource"),
        ("POST", "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods", {}, 405, "MethodNotAllowed",
         "the server does not allow this method on the requested resource"),
        ("POST", "/api/v1/namespaces/shop/pods/web-5d9c-ok", POD, 405, "MethodNotAllowed",
         "the server does not allow this method on the requested resource"),
        ("DELETE", "/api/v1/namespaces/shop/pods", None, 405, "MethodNotAllowed",
         "the server does not allow this method on the requested resource"),
        ("POST", "/api/v1/namespaces/shop/pods", b"{not json", 400, "BadRequest", None),
        ("POST", "/api/v1/namespaces/shop/pods", {**POD, "metadata": {"name": "x", "namespace": "default"}}, 400,
         "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"),
        ("POST", "/api/v1/namespaces/shop/pods", {**POD, "kind": "Service"}, 400, "BadRequest", None),
        ("POST", "/api/v1/namespaces/nowhere/pods", POD, 404, "NotFound", 'namespaces "nowhere" not found'),
        ("POST", "/api/v1/namespaces/shop/configmaps", {"metadata": {"name": "web-config"}}, 409,
         "AlreadyExists", 'configmaps "web-config" already exists'),
        ("PUT", "/api/v1/namespaces/shop/configmaps/web-config",
         {"metadata": {"name": "web-config", "resourceVersion": "1"}}, 409, "Conflict",
         ('Operation cannot be fulfilled on configmaps "web-config": the object has been modified; please apply '
          "your changes to the latest version and try again")),
        ("PUT", "/api/v1/namespaces/shop/configmaps/web-config", {"metadata": {"name": "other"}}, 400,
         "BadRequest", "the name of the object (other) does not match the name on the URL (web-config)"),
        ("POST", "/api/v1/namespaces/shop/pods", {**POD, "metadata": {"name": "Bad_Name"}}, 422, "Invalid",
         ('Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain '
          "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
          "alphanumeric character (e.g. 'example.com', regex used for validation is "
          r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")),
        ("POST", "/api/v1/namespaces/shop/services", {"metadata": {"name": "9lives"}}, 422, "Invalid", None),
        ("POST", "/api/v1/namespaces/shop/pods", {**POD, "metadata": {}}, 422, "Invalid",
         'Pod "" is invalid: metadata.name: Required value: name or generateName is required'),
        ("POST", "/api/v1/namespaces/shop/pods?dryRun=Maybe", POD, 400, "BadRequest",
         'Invalid dry run value: "Maybe"'),
    ],
    ids=lambda v: v if isinstance(v, str) and v.isupper() else None,
)
def test_error_statuses(sim: Served, method: str, path: str, body: Any, code: int, reason: str,
                        message: str | None) -> None:
    status = _status(request(sim.url, method, path, body), code, reason)
    if message is not None:
        assert status["message"] == message
    assert sim.controller.reconciles == 0  # a refused write never reaches the controller


def test_invalid_name_lists_the_cause(sim: Served) -> None:
    status = _status(request(sim.url, "POST", "/api/v1/namespaces/shop/pods",
                             {**POD, "metadata": {"name": "Bad_Name"}}), 422, "Invalid")
    assert status["details"]["name"] == "Bad_Name" and status["details"]["kind"] == "Pod"
    assert status["details"]["causes"][0]["field"] == "metadata.name"


def test_oversized_body_is_413(sim: Served) -> None:
    huge = b'{"data": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    _status(request(sim.url, "POST", "/api/v1/namespaces/shop/configmaps", huge), 413, "RequestEntityTooLarge")
    assert request(sim.url, "GET", "/version").status == 200  # still serving


def test_a_failing_controller_is_a_500_status_not_a_dead_server(sim: Served) -> None:
    def explode() -> None:
        raise RuntimeError("boom")

    sim.controller.reconcile = explode  # type: ignore[method-assign]
    status = _status(request(sim.url, "POST", "/api/v1/namespaces/shop/pods", POD), 500, "InternalError")
    assert "boom" in status["message"] and "Traceback" not in status["message"]
    assert request(sim.url, "GET", "/api/v1/namespaces/shop/pods/fresh").status == 200


def test_client_raises_api_exception_with_the_status_body(sim: Served) -> None:
    from kubernetes import client

    v1 = client.CoreV1Api(python_client(sim.kubeconfig))
    with pytest.raises(client.ApiException) as info:
        v1.read_namespaced_pod("ghost", "shop")
    assert info.value.status == 404 and '"reason":"NotFound"' in info.value.body


def test_kubectl_prints_the_server_message(sim: Served) -> None:
    result = sim.kubectl("get", "pod", "ghost", "-n", "shop")
    assert result.returncode == 1
    assert result.stderr.strip() == 'Error from server (NotFound): pods "ghost" not found'


def test_any_bearer_token_or_none_is_accepted(sim: Served) -> None:
    for headers in ({}, {"Authorization": "Bearer anything"}, {"Authorization": "Basic Zm9vOmJhcg=="}):
        assert request(sim.url, "GET", "/api/v1/namespaces", headers=headers).status == 200
