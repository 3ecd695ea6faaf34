"""Which file, and which document in it, owns a field of a live object.

The owner is the last document kustomize applies that sets the field: a kustomization `images:`
entry for a container image, an overlay patch that sets it, else the manifest itself (where a
missing field is created). Changing the base Deployment's tag under an `images:` entry would be a
no-op in the cluster, and a reviewer would rightly reject it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.diagnosis import ResourceRef
from agents.errors import PermanentError
from agents.toolsets.gitops.fieldpath import (
    MISSING,
    FieldPathError,
    Key,
    Select,
    format_path,
    parse_path,
    resolve,
)
from agents.toolsets.gitops.tree import Contribution, Rendered, RepoTree, split_image

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


class ObjectNotInRepo(PermanentError):
    """The object (or the field's owner) is not managed by the GitOps repo: nothing to change there."""


@dataclass(frozen=True)
class Location:
    file: str
    document: int
    field_path: str  # in the owning document's terms (`images[name=nginx].newTag`)
    new_value: Any  # likewise (`1.27`, not `nginx:1.27`)
    via: str  # how the owner was found, in words for the plan and the PR
    object: ResourceRef  # as rendered (namespace from the kustomization when it sets it)
    current_value: Any = None  # the rendered value before the change
    shared_with: list[str] = field(default_factory=list)  # other roots rendering the same document


def locate(tree: RepoTree, resource: ResourceRef, field_path: str, new_value: Any) -> Location:
    segments = parse_path(field_path)
    rendered = tree.render()
    item = _find(tree, rendered, resource)
    _check_containers(item, segments, resource)
    found = ResourceRef(kind=item.kind, namespace=item.namespace, name=item.name)
    current = resolve(item.obj, segments)
    current = None if current is MISSING else current
    shared = sorted({r.root for r in rendered if r.source == item.source and r.root != item.root})
    for contribution in reversed(item.contributions):
        if contribution.how == "images" and _is_image_of(segments, item, contribution):
            path, value = _image_change(contribution, new_value)
            return Location(contribution.ref.file, 0, path, value, f"kustomization images: entry "
                            f"{contribution.entry!r} in {contribution.ref.file} sets this image",
                            found, current, shared)
        if contribution.how == "namespace" and format_path(segments) == "metadata.namespace":
            return Location(contribution.ref.file, 0, "namespace", new_value,
                            f"namespace set by {contribution.ref.file}", found, current, shared)
        if contribution.how == "patch" and resolve(tree.documents.get(contribution.ref), segments) is not MISSING:
            if contribution.ref.index < 0:
                raise ObjectNotInRepo(f"{format_path(segments)} of {resource} is set by an inline patch in "
                                      f"{contribution.ref.file}; that needs a hand edit")
            return Location(contribution.ref.file, contribution.ref.index, format_path(segments), new_value,
                            f"overlay patch {contribution.ref.file} sets this field", found, current, shared)
    source = item.source
    return Location(source.file, source.index, format_path(segments), new_value,
                    f"manifest {source.file}" + (f" (document {source.index})" if source.index else ""),
                    found, current, shared)


def _find(tree: RepoTree, rendered: list[Rendered], resource: ResourceRef) -> Rendered:
    same = [r for r in rendered if r.kind.lower() == resource.kind.lower() and r.name == resource.name]
    exact = [r for r in same if resource.namespace is None or r.namespace == resource.namespace]
    # A manifest without a namespace lands in whatever the sync tool targets: a fallback match.
    loose = [r for r in same if r.namespace is None]
    if exact or loose:
        return (exact or loose)[0]
    files = len({ref.file for ref in tree.documents})
    elsewhere = ", ".join(sorted(f"{r.namespace}/{r.name}" for r in same))
    message = (f"{resource} is not in the GitOps repo: searched {len(rendered)} objects in {files} YAML files "
               f"(plain manifests and {len(tree.kustomizations)} kustomizations, with their namespaces)")
    if elsewhere:
        message += f"; a {resource.kind} of that name exists in: {elsewhere}"
    if tree.notes:
        message += f"; skipped: {'; '.join(tree.notes[:3])}"
    raise ObjectNotInRepo(message)


def _check_containers(item: Rendered, segments: tuple[Any, ...], resource: ResourceRef) -> None:
    """A container selector must name a container that exists (a wrong name is not a new container)."""
    for position, segment in enumerate(segments):
        if not (isinstance(segment, Select) and position and isinstance(segments[position - 1], Key)
                and segments[position - 1].name in _CONTAINER_LISTS):
            continue
        if resolve(item.obj, segments[:position + 1]) is MISSING:
            items = resolve(item.obj, segments[:position])
            names = ", ".join(str(c.get("name")) for c in items) if isinstance(items, list) else "none"
            raise FieldPathError(f"{resource} has no {segments[position - 1].name[:-1]} named "
                                 f"{segment.value!r} ({segments[position - 1].name}: {names})")


def _is_image_of(segments: tuple[Any, ...], item: Rendered, contribution: Contribution) -> bool:
    return bool(segments) and segments[-1] == Key("image") and format_path(segments[:-1]) == contribution.path


def _image_change(contribution: Contribution, new_value: Any) -> tuple[str, Any]:
    """A new image ref as a change to the `images:` entry: the tag (or digest), the name if it moved."""
    entry = f"images[name={contribution.entry}]"
    if new_value is None:
        return f"{entry}.newTag", None
    name, tag, digest = split_image(str(new_value))
    if name == contribution.entry and not digest:
        return f"{entry}.newTag", tag
    value: dict[str, Any] = {"name": contribution.entry}
    if name != contribution.entry:
        value["newName"] = name
    if tag:
        value["newTag"] = tag
    if digest:
        value["digest"] = digest
    return entry, value
