"""PATCH in its three flavours, /scale, dry runs and update rules, through the real clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.errors import ApiError
from sim.patching import json_merge_patch, json_patch, strategic_merge_patch
from tests.sim.api_support import Served, python_client, request, serve

POD_SPEC = {
    "containers": [
        {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
         "ports": [{"containerPort": 80}], "volumeMounts": [{"name": "data", "mountPath": "/data"}],
         "command": ["run", "--fast"]},
        {"name": "sidecar", "image": "side:1"},
    ],
    "volumes": [{"name": "data", "emptyDir": {}}],
}


@pytest.mark.parametrize(
    ("patch", "check"),
    [
        pytest.param({"containers": [{"name": "app", "image": "app:2"}]},
                     lambda s: [c["image"] for c in s["containers"]] == ["app:2", "side:1"]
                     and s["containers"][0]["env"][1]["value"] == "2", id="containers-merge-by-name"),
        pytest.param({"containers": [{"name": "app", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]},
                     lambda s: s["containers"][0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"},
                                                           {"name": "C", "value": "4"}], id="env-merge-by-name"),
        pytest.param({"containers": [{"name": "app", "env": [{"name": "A", "$patch": "delete"}]}]},
                     lambda s: [e["name"] for e in s["containers"][0]["env"]] == ["B"], id="patch-delete-item"),
        pytest.param({"containers": [{"name": "app", "command": ["run"]}]},
                     lambda s: s["containers"][0]["command"] == ["run"], id="command-is-atomic"),
        pytest.param({"containers": [{"name": "app", "ports": [{"containerPort": 80, "name": "http"}]}]},
                     lambda s: s["containers"][0]["ports"] == [{"containerPort": 80, "name": "http"}],
                     id="ports-merge-on-containerPort"),
        pytest.param({"containers": [{"name": "app", "volumeMounts": [{"mountPath": "/data", "readOnly": True}]}]},
                     lambda s: s["containers"][0]["volumeMounts"] == [{"name": "data", "mountPath": "/data",
                                                                       "readOnly": True}], id="mounts-on-mountPath"),
        pytest.param({"volumes": [{"name": "cfg", "configMap": {"name": "c"}}, {"$patch": "replace"}]},
                     lambda s: s["volumes"] == [{"name": "cfg", "configMap": {"name": "c"}}], id="list-replace"),
        pytest.param({"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                      "containers": [{"name": "sidecar", "image": "side:2"}]},
                     lambda s: s["containers"][1]["image"] == "side:2", id="kubectl-apply-hints-ignored"),
        pytest.param({"containers": [{"name": "app", "resources": {"limits": {"memory": "1Gi"}}}]},
                     lambda s: s["containers"][0]["resources"] == {"limits": {"memory": "1Gi"}}, id="add-map"),
        pytest.param({"volumes": None}, lambda s: "volumes" not in s, id="null-deletes"),
    ],
)
def test_strategic_merge_patch(patch: dict[str, Any], check: Any) -> None:
    assert check(strategic_merge_patch(POD_SPEC, patch))


def test_merge_patch_replaces_lists_and_null_deletes() -> None:
    out = json_merge_patch(POD_SPEC, {"containers": [{"name": "only"}], "volumes": None})
    assert out == {"containers": [{"name": "only"}]}


def test_json_patch_operations() -> None:
    ops = [
        {"op": "replace", "path": "/containers/0/image", "value": "app:3"},
        {"op": "add", "path": "/containers/0/env/-", "value": {"name": "Z", "value": "9"}},
        {"op": "remove", "path": "/containers/1"},
        {"op": "test", "path": "/volumes/0/name", "value": "data"},
        {"op": "copy", "from": "/volumes/0", "path": "/volumes/1"},
    ]
    out = json_patch(POD_SPEC, ops)
    assert out["containers"][0]["image"] == "app:3" and out["containers"][0]["env"][-1]["name"] == "Z"
    assert len(out["containers"]) == 1 and len(out["volumes"]) == 2
    assert POD_SPEC["containers"][0]["image"] == "app:1"  # the input is untouched


def test_json_patch_replace_creates_a_missing_object_key_like_the_apiserver() -> None:
    # evanphx/json-patch v4 (the apiserver's) allows it, and `kubectl rollout undo` relies on it.
    out = json_patch({"metadata": {"name": "x"}}, [{"op": "replace", "path": "/metadata/annotations",
                                                     "value": {"a": "b"}}])
    assert out == {"metadata": {"name": "x", "annotations": {"a": "b"}}}


@pytest.mark.parametrize("ops", [[{"op": "test", "path": "/volumes/0/name", "value": "x"}],
                                 [{"op": "remove", "path": "/nope"}],
                                 [{"op": "replace", "path": "/containers/9", "value": 1}]])
def test_json_patch_that_cannot_apply_is_422(ops: list[dict[str, Any]]) -> None:
    with pytest.raises(ApiError) as info:
        json_patch(POD_SPEC, ops)
    assert info.value.code == 422


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path) as served:
        yield served


def _apps(sim: Served) -> Any:
    from kubernetes import client

    return client.AppsV1Api(python_client(sim.kubeconfig))


def test_client_strategic_patch_merges_containers_and_reconciles(sim: Served) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "resources": {"limits": {"memory": "1Gi"}}}]}}}}
    result = _apps(sim).patch_namespaced_deployment("web", "shop", patch)
    container = result.spec.template.spec.containers[0]
    assert container.resources.limits == {"memory": "1Gi"} and container.env[0].name == "MODE"
    assert result.metadata.generation == 2
    assert sim.controller.reconciles == 1
    stored = sim.store.get("Deployment", "shop", "web")
    assert stored is not None and stored["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/web:1.0"


def test_client_json_patch(sim: Served) -> None:
    ops = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "registry.local/web:2.0"}]
    result = _apps(sim).patch_namespaced_deployment("web", "shop", ops)
    assert result.spec.template.spec.containers[0].image == "registry.local/web:2.0"


def test_merge_patch_over_http_replaces_the_container_list(sim: Served) -> None:
    body = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "x:1"}]}}}}
    reply = request(sim.url, "PATCH", "/apis/apps/v1/namespaces/shop/deployments/web", body,
                    {"Content-Type": "application/merge-patch+json"})
    assert reply.status == 200
    assert reply.json()["spec"]["template"]["spec"]["containers"] == [{"name": "web", "image": "x:1"}]


def test_dry_run_patch_answers_without_storing_or_reconciling(sim: Served) -> None:
    before = sim.store.get("Deployment", "shop", "web")
    result = _apps(sim).patch_namespaced_deployment("web", "shop", {"spec": {"replicas": 5}}, dry_run="All")
    assert result.spec.replicas == 5
    assert sim.store.get("Deployment", "shop", "web") == before
    assert sim.controller.reconciles == 0


def test_status_is_not_patched_through_the_main_resource(sim: Served) -> None:
    result = _apps(sim).patch_namespaced_deployment("web", "shop", {"status": {"readyReplicas": 9}})
    assert result.status.ready_replicas == 1


def test_pod_spec_is_immutable_except_images(sim: Served) -> None:
    reply = request(sim.url, "PATCH", "/api/v1/namespaces/shop/pods/web-5d9c-ok",
                    {"spec": {"containers": [{"name": "web", "resources": {"limits": {"memory": "1Gi"}}}]}},
                    {"Content-Type": "application/strategic-merge-patch+json"})
    assert reply.status == 422
    assert reply.json()["message"].startswith(
        'Pod "web-5d9c-ok" is invalid: spec: Forbidden: pod updates may not change fields other than')
    image = request(sim.url, "PATCH", "/api/v1/namespaces/shop/pods/web-5d9c-ok",
                    {"spec": {"containers": [{"name": "web", "image": "registry.local/web:2.0"}]}},
                    {"Content-Type": "application/strategic-merge-patch+json"})
    assert image.status == 200


def test_unknown_patch_type_is_415(sim: Served) -> None:
    reply = request(sim.url, "PATCH", "/apis/apps/v1/namespaces/shop/deployments/web", {},
                    {"Content-Type": "text/plain"})
    assert reply.status == 415 and reply.json()["reason"] == "UnsupportedMediaType"


def test_kubectl_scale_uses_the_scale_subresource(sim: Served) -> None:
    result = sim.kubectl("scale", "deployment/web", "-n", "shop", "--replicas=3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "deployment.apps/web scaled"
    stored = sim.store.get("Deployment", "shop", "web")
    assert stored is not None and stored["spec"]["replicas"] == 3
    scale = _apps(sim).read_namespaced_deployment_scale("web", "shop")
    assert (scale.spec.replicas, scale.status.selector) == (3, "app=web")


def test_kubectl_set_image_and_patch(sim: Served) -> None:
    result = sim.kubectl("set", "image", "deployment/web", "-n", "shop", "web=registry.local/web:1.1")
    assert result.returncode == 0, result.stderr
    patched = sim.kubectl("patch", "deployment", "web", "-n", "shop", "--type=json",
                          "-p", '[{"op":"add","path":"/metadata/labels/team","value":"shop"}]')
    assert patched.returncode == 0, patched.stderr
    stored = sim.store.get("Deployment", "shop", "web")
    assert stored is not None
    assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/web:1.1"
    assert stored["metadata"]["labels"] == {"app": "web", "team": "shop"}


def test_kubectl_apply_updates_an_existing_deployment(sim: Served, tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: shop\n"
                        "data:\n  config.json: '{\"ok\": true}'\n")
    result = sim.kubectl("apply", "-f", str(manifest), "--validate=false")
    assert result.returncode == 0, result.stderr
    stored = sim.store.get("ConfigMap", "shop", "web-config")
    assert stored is not None and stored["data"] == {"config.json": '{"ok": true}'}
