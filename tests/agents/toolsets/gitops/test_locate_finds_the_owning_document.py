"""locate: the document that OWNS a field (kustomize images, overlay patches, multi-document files),
and a clear refusal when the object or the container is not in the repo."""

from __future__ import annotations

import pytest

from agents.diagnosis import ResourceRef
from agents.toolsets.gitops import FieldPathError, ObjectNotInRepo, RepoTree, apply_change, changed_lines, locate
from sim.scenario import find_scenario, load_scenario


def _files(name: str) -> dict[str, str]:
    return dict(load_scenario(find_scenario(name)).gitops.files)


def test_image_tag_set_by_kustomization_images_is_changed_there() -> None:
    files = _files("image_pull_bad_tag")
    ref = ResourceRef(kind="Deployment", namespace="web", name="web")  # namespace comes from the kustomization
    location = locate(RepoTree(files), ref, "spec.template.spec.containers[name=nginx].image", "nginx:1.27")
    assert (location.file, location.field_path, location.new_value) == \
           ("apps/web/kustomization.yaml", "images[name=nginx].newTag", "1.27")
    assert location.current_value == "nginx:invalid-tag"  # what the cluster runs, not the base's nginx:1.27
    assert "images: entry 'nginx'" in location.via
    edit = apply_change(files[location.file], location.file, location.document, location.field_path,
                        location.new_value)
    assert "-    newTag: invalid-tag  # bumped by the release bot\n" in edit.diff
    assert "+    newTag: '1.27'  # bumped by the release bot\n" in edit.diff


def test_a_new_image_name_moves_the_images_entry_too() -> None:
    files = _files("image_pull_bad_tag")
    ref = ResourceRef(kind="Deployment", namespace="web", name="web")
    location = locate(RepoTree(files), ref, "spec.template.spec.containers[name=nginx].image",
                      "mirror.example.com/nginx:1.27")
    assert location.field_path == "images[name=nginx]"
    assert location.new_value == {"name": "nginx", "newName": "mirror.example.com/nginx", "newTag": "1.27"}


def test_field_set_by_an_overlay_patch_is_changed_in_the_patch() -> None:
    files = _files("pending_insufficient_memory")
    ref = ResourceRef(kind="Deployment", namespace="analytics", name="analytics-engine")
    location = locate(RepoTree(files), ref, "spec.template.spec.containers[name=engine].resources.requests.memory", "1Gi")
    assert location.file == "apps/analytics/overlays/production/resources.yaml"
    assert location.current_value == "16Gi"
    # A field the patch does not set belongs to the base.
    cpu = locate(RepoTree(files), ref, "spec.template.spec.containers[name=engine].resources.requests.cpu", "1")
    assert cpu.file == "apps/analytics/base/deployment.yaml"


def test_multi_document_file_edits_only_its_document() -> None:
    files = {"apps/all.yaml": (
        "# everything for shop\n"
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n"
        "  ports:\n    - name: http\n      port: 80\n      targetPort: 8080  # the app's port\n"
        "---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n"
        "  replicas: 2\n"
        "---\n"
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\nspec:\n"
        "  ports:\n    - name: http\n      port: 80\n      targetPort: 8080\n")}
    ref = ResourceRef(kind="Service", namespace="shop", name="api")
    location = locate(RepoTree(files), ref, "spec.ports[http].targetPort", 9090)
    assert (location.file, location.document) == ("apps/all.yaml", 2)
    edit = apply_change(files["apps/all.yaml"], "apps/all.yaml", 2, location.field_path, 9090)
    assert changed_lines(edit.diff) == (1, 1)
    assert edit.new_text == files["apps/all.yaml"][:-len("8080\n")] + "9090\n"


def test_namespace_from_the_kustomization_counts_for_matching() -> None:
    files = _files("service_selector_mismatch")  # service.yaml has no namespace; the kustomization says frontend
    tree = RepoTree(files)
    assert locate(tree, ResourceRef(kind="Service", namespace="frontend", name="nginx"), "spec.selector", {}).file \
        == "apps/frontend/service.yaml"
    with pytest.raises(ObjectNotInRepo) as caught:
        locate(tree, ResourceRef(kind="Service", namespace="backend", name="nginx"), "spec.selector", {})
    assert "Service backend/nginx is not in the GitOps repo" in str(caught.value)
    assert "a Service of that name exists in: frontend/nginx" in str(caught.value)


def test_object_not_in_repo_says_what_was_searched() -> None:
    with pytest.raises(ObjectNotInRepo) as caught:
        locate(RepoTree(_files("oom_memory_hog")), ResourceRef(kind="Deployment", namespace="default", name="ghost"),
               "spec.replicas", 1)
    assert str(caught.value) == ("Deployment default/ghost is not in the GitOps repo: searched 2 objects in "
                                 "3 YAML files (plain manifests and 1 kustomizations, with their namespaces)")


def test_a_container_that_does_not_exist_is_not_created() -> None:
    files = _files("oom_memory_hog")
    ref = ResourceRef(kind="Deployment", namespace="default", name="memory-hog")
    with pytest.raises(FieldPathError) as caught:
        locate(RepoTree(files), ref, "spec.template.spec.containers[name=hog].resources.limits.memory", "1Gi")
    assert str(caught.value) == ("Deployment default/memory-hog has no container named 'hog' "
                                 "(containers: memory-hog)")
