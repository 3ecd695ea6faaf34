"""The GitOps repo as the cluster will see it: each object rendered, and which documents made it so.

A small `kustomize build` with provenance: resources (files and directories), `namespace`,
`namePrefix`/`nameSuffix`, strategic-merge patches (`patches: [{path}]`, `patchesStrategicMerge`,
inline `patch:`) and `images:`. Each rendered object keeps the list of contributions in the order
kustomize applies them, so `locate` can tell which document owns a field (the last one that sets
it) and `validate` can check what a change really produces. Not modelled: JSON6902 patches,
generators, replacements, remote bases, Helm (noted in `RepoTree.notes`).
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.toolsets.gitops.documents import ManifestParseError, load_documents

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Where a pod template's spec lives, per kind (images and container selectors are found there).
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",), "Deployment": ("spec", "template", "spec"), "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"), "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CLUSTER_SCOPED = {"Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
                  "CustomResourceDefinition", "ClusterIssuer", "PriorityClass", "IngressClass",
                  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}


@dataclass(frozen=True, order=True)
class DocRef:
    file: str
    index: int  # document number in the file (documents.split_documents); -1: inline in a kustomization


@dataclass(frozen=True)
class Contribution:
    how: Literal["manifest", "patch", "images", "namespace"]
    ref: DocRef
    entry: str | None = None  # images: the `images[].name` entry that matched
    path: str | None = None  # images: the container it rewrote (`spec.template.spec.containers[name=x]`)


@dataclass
class Rendered:
    obj: dict[str, Any]
    source: DocRef
    contributions: list[Contribution] = field(default_factory=list)
    root: str = ""  # the outermost kustomization directory, or the file for a plain manifest

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name", ""))

    @property
    def namespace(self) -> str | None:
        return (self.obj.get("metadata") or {}).get("namespace")


def is_kustomization(path: str, document: Any) -> bool:
    """A kustomize file (not Flux's `kustomize.toolkit.fluxcd.io` Kustomization object)."""
    if not isinstance(document, Mapping):
        return False
    api = str(document.get("apiVersion", ""))
    return posixpath.basename(path) in KUSTOMIZATION_FILES and not api.startswith("kustomize.toolkit.fluxcd.io")


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest): `registry:5000/team/app:1.2@sha256:…` → name keeps the registry port."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest or None


def containers_of(obj: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(field path of the container, container) for every container and init container."""
    path = POD_SPEC_PATHS.get(str(obj.get("kind")))
    if path is None:
        return []
    spec: Any = obj
    for key in path:
        spec = spec.get(key) if isinstance(spec, Mapping) else None
    if not isinstance(spec, Mapping):
        return []
    found = []
    for list_key in ("initContainers", "containers"):
        for container in spec.get(list_key) or []:
            if isinstance(container, dict):
                found.append((f"{'.'.join(path)}.{list_key}[name={container.get('name')}]", container))
    return found


def strategic_merge(base: Any, patch: Any) -> Any:
    """Strategic merge, simplified: maps merge, `null` deletes, lists of named items merge by name."""
    if not (isinstance(base, Mapping) and isinstance(patch, Mapping)):
        return copy.deepcopy(patch)
    merged = dict(base)
    for key, value in patch.items():
        current = merged.get(key)
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = strategic_merge(current, value)
        elif isinstance(value, list) and isinstance(current, list) and _named(value) and _named(current):
            items = list(current)
            for item in value:
                position = next((i for i, c in enumerate(items) if c.get("name") == item.get("name")), None)
                if position is None:
                    items.append(copy.deepcopy(item))
                else:
                    items[position] = strategic_merge(items[position], item)
            merged[key] = items
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, Mapping) and "name" in i for i in items)


class RepoTree:
    """Every YAML document of a GitOps tree (`{path: text}`), and the objects it renders to."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self.files = dict(files)
        self.documents: dict[DocRef, Any] = {}
        self.notes: list[str] = []  # what was skipped, in words (reported when nothing is found)
        for path, text in sorted(self.files.items()):
            if not path.endswith((".yaml", ".yml")) and posixpath.basename(path) not in KUSTOMIZATION_FILES:
                continue
            try:
                for index, document in enumerate(load_documents(path, text)):
                    self.documents[DocRef(path, index)] = document
            except ManifestParseError as exc:
                self.notes.append(str(exc))
        self.kustomizations = {posixpath.dirname(ref.file): doc for ref, doc in self.documents.items()
                               if is_kustomization(ref.file, doc)}
        self._patch_files: set[str] = set()
        self._reached: set[str] = set()

    def kustomization_file(self, directory: str) -> str:
        return next(posixpath.join(directory, n) if directory else n for n in KUSTOMIZATION_FILES
                    if DocRef(posixpath.join(directory, n) if directory else n, 0) in self.documents)

    def render(self) -> list[Rendered]:
        """Every object the tree produces: one per kustomize root it is reached from, plus plain files."""
        self._patch_files, self._reached = set(), set()
        children = {self._resolve(d, entry) for d, k in self.kustomizations.items()
                    for entry in _entries(k, "resources", "bases", "components")}
        rendered: list[Rendered] = []
        for directory in sorted(self.kustomizations):
            if directory not in children:
                for item in self._build(directory, frozenset()):
                    item.root = directory
                    rendered.append(item)
        for ref, document in sorted(self.documents.items()):
            plain = ref.file not in self._reached and ref.file not in self._patch_files
            if plain and _is_object(document) and not is_kustomization(ref.file, document):
                rendered.append(Rendered(copy.deepcopy(document), ref, [Contribution("manifest", ref)], ref.file))
        return rendered

    # -- kustomize, simplified ----------------------------------------------------------------

    def _resolve(self, directory: str, entry: str) -> str:
        return posixpath.normpath(posixpath.join(directory, entry)) if directory else posixpath.normpath(entry)

    def _build(self, directory: str, visiting: frozenset[str]) -> list[Rendered]:
        kustomization = self.kustomizations[directory]
        kfile = self.kustomization_file(directory)
        self._reached.add(kfile)
        items: list[Rendered] = []
        for entry in _entries(kustomization, "resources", "bases", "components"):
            path = self._resolve(directory, entry)
            if path in self.kustomizations and path not in visiting:
                items += self._build(path, visiting | {directory})
            elif path in self.files:
                self._reached.add(path)
                items += [Rendered(copy.deepcopy(doc), ref, [Contribution("manifest", ref)])
                          for ref, doc in sorted(self.documents.items()) if ref.file == path and _is_object(doc)]
            else:
                self.notes.append(f"{kfile}: resource {entry!r} is not in the repo (remote or missing); skipped")
        for ref, patch, target in self._patches(directory, kustomization, kfile):
            for item in items:
                if _targets(target, item):
                    item.obj = strategic_merge(item.obj, patch)
                    item.contributions.append(Contribution("patch", ref))
        for entry in kustomization.get("images") or []:
            self._apply_image(entry, items, kfile)
        namespace = kustomization.get("namespace")
        for item in items:
            metadata = item.obj.setdefault("metadata", {})
            if namespace and item.kind not in CLUSTER_SCOPED:
                metadata["namespace"] = namespace
                item.contributions.append(Contribution("namespace", DocRef(kfile, 0)))
            if item.kind != "Namespace":
                metadata["name"] = f"{kustomization.get('namePrefix') or ''}{metadata.get('name', '')}" \
                                   f"{kustomization.get('nameSuffix') or ''}"
        return items

    def _patches(self, directory: str, kustomization: Mapping[str, Any], kfile: str
                 ) -> list[tuple[DocRef, Any, Mapping[str, Any]]]:
        found: list[tuple[DocRef, Any, Mapping[str, Any]]] = []
        specs = [p if isinstance(p, Mapping) else {"path": p} for p in kustomization.get("patches") or []]
        specs += [{"path": p} if isinstance(p, str) and "\n" not in p else {"patch": p}
                  for p in kustomization.get("patchesStrategicMerge") or []]
        for spec in specs:
            target = spec.get("target") or {}
            if "path" in spec:
                path = self._resolve(directory, str(spec["path"]))
                self._patch_files.add(path)
                documents = [(ref, doc) for ref, doc in sorted(self.documents.items()) if ref.file == path]
                if not documents:
                    self.notes.append(f"{kfile}: patch {spec['path']!r} is not in the repo; skipped")
            else:
                try:
                    documents = [(DocRef(kfile, -1), d) for d in load_documents(kfile, str(spec.get("patch")))]
                except ManifestParseError as exc:
                    self.notes.append(str(exc))
                    continue
            for ref, document in documents:
                if not isinstance(document, Mapping):
                    self.notes.append(f"{ref.file}: JSON 6902 patches are not modelled; skipped")
                    continue
                found.append((ref, document, target or _self_target(document)))
        return found

    def _apply_image(self, entry: Mapping[str, Any], items: list[Rendered], kfile: str) -> None:
        for item in items:
            for path, container in containers_of(item.obj):
                name, tag, digest = split_image(str(container.get("image", "")))
                if name != entry.get("name"):
                    continue
                new_name = entry.get("newName") or name
                new_tag = entry.get("newTag", tag)
                new_digest = entry.get("digest", digest)
                container["image"] = new_name + (f":{new_tag}" if new_tag is not None else "") \
                    + (f"@{new_digest}" if new_digest else "")
                item.contributions.append(Contribution("images", DocRef(kfile, 0), str(entry.get("name")), path))


def _entries(kustomization: Mapping[str, Any], *keys: str) -> list[str]:
    return [str(e) for key in keys for e in kustomization.get(key) or [] if isinstance(e, str)]


def _is_object(document: Any) -> bool:
    return isinstance(document, Mapping) and "kind" in document and "apiVersion" in document


def _self_target(patch: Mapping[str, Any]) -> dict[str, Any]:
    return {"kind": patch.get("kind"), "name": (patch.get("metadata") or {}).get("name")}


def _targets(target: Mapping[str, Any], item: Rendered) -> bool:
    # Names before this level's prefix/suffix: kustomize applies patches before renaming.
    return (not target.get("kind") or target["kind"] == item.kind) and \
           (not target.get("name") or target["name"] == item.name)
