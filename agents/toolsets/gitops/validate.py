"""Checks a change must pass before anyone is asked to approve it; a problem goes back to the planner.

What is checked is what the cluster would get: the objects rendered from the changed tree
(tree.py), not the edited file alone, because an overlay patch or an `images:` entry is not a
manifest. Two families:
- schema: the Kubernetes OpenAPI schemas (`kubernetes_validate`, strict: unknown fields fail).
  Kinds without a bundled schema (CRDs such as cert-manager's) are checked as YAML only;
- policy: every container has memory requests and limits, every request and limit is a quantity,
  requests ≤ limits, and an image pinned by tag or digest (no `:latest`, no untagged name).
A problem the tree already had before the change is a warning, not an error: a fix for a wrong
selector should not be blocked because the workload never had memory requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel

from agents.rules.quantity import parse_quantity
from agents.toolsets.gitops.documents import ManifestParseError, load_documents
from agents.toolsets.gitops.tree import Rendered, RepoTree, containers_of, is_kustomization, split_image

DEFAULT_KUBERNETES_VERSION = "1.31"
# kustomize.config.k8s.io/v1beta1 Kustomization (and Component) top-level fields.
KUSTOMIZATION_KEYS = frozenset({
    "apiVersion", "kind", "metadata", "resources", "bases", "components", "namespace", "namePrefix",
    "nameSuffix", "commonLabels", "labels", "commonAnnotations", "patches", "patchesStrategicMerge",
    "patchesJson6902", "images", "replicas", "configMapGenerator", "secretGenerator", "generatorOptions",
    "generators", "transformers", "validators", "crds", "openapi", "replacements", "vars", "helmCharts",
    "helmGlobals", "buildMetadata", "sortOptions", "configurations",
})


class ValidationProblem(BaseModel):
    file: str
    path: str  # field path in the rendered object ("" for the whole document)
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.file}: {self.path + ': ' if self.path else ''}{self.message}"


def validate_change(before: Mapping[str, str], after: Mapping[str, str], changed: Iterable[str], *,
                    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION) -> list[ValidationProblem]:
    """Problems with the changed files of `after`; those `before` already had are warnings."""
    changed = sorted(set(changed))
    problems: list[ValidationProblem] = []
    for file in changed:
        problems += _file_problems(file, after.get(file, ""))
    if any(p.severity == "error" for p in problems):
        return problems  # nothing renders from a file that does not parse
    old = {_key(r): r for r in RepoTree(before).render()}
    for item in RepoTree(after).render():
        touched = [c.ref.file for c in item.contributions if c.ref.file in changed]
        if not touched:
            continue
        previous = old.get(_key(item))
        known = {(p.path, p.message) for p in object_problems(previous, touched[0], kubernetes_version)} \
            if previous else set()
        for problem in object_problems(item, touched[0], kubernetes_version):
            if (problem.path, problem.message) in known:
                problem.severity = "warning"
                problem.message += " (already so before this change)"
            problems.append(problem)
    return problems


def changed_objects(after: Mapping[str, str], changed: Iterable[str]) -> list[dict[str, Any]]:
    """The rendered objects of `after` that the changed files contribute to (what a sync would apply)."""
    changed = set(changed)
    return [item.obj for item in RepoTree(after).render()
            if any(c.ref.file in changed for c in item.contributions)]


def object_problems(item: Rendered, file: str, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
                    ) -> list[ValidationProblem]:
    problems = [ValidationProblem(file=file, path=path, message=message)
                for path, message in schema_problems(item.obj, kubernetes_version)]
    problems += [ValidationProblem(file=file, path=path, message=message)
                 for path, message in policy_problems(item.obj)]
    return problems


def schema_problems(obj: Mapping[str, Any], kubernetes_version: str) -> list[tuple[str, str]]:
    """(path, message) from the Kubernetes schema; the validator stops at the first problem."""
    import kubernetes_validate  # heavy, and only needed here

    try:
        kubernetes_validate.validate(dict(obj), kubernetes_version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return []  # a CRD: no bundled schema, checked as YAML only
    except kubernetes_validate.ValidationError as exc:
        return [(_format_error_path(obj, list(exc.path)), f"schema: {exc.message}")]
    return []


def policy_problems(obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path, container in containers_of(obj):
        name = container.get("name")
        image = str(container.get("image") or "")
        _, tag, digest = split_image(image)
        if not digest and tag is None:
            found.append((f"{path}.image", f"container {name} image {image!r} has no tag; pin a version"))
        elif not digest and tag == "latest":
            found.append((f"{path}.image", f"container {name} uses {image!r}; pin a version instead of :latest"))
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        for kind, values in (("request", requests), ("limit", limits)):
            if "memory" not in values:
                found.append((f"{path}.resources.{kind}s.memory", f"container {name} has no memory {kind}"))
            # The bundled schema types quantities as int-or-string, so "lots" would pass it.
            found += [(f"{path}.resources.{kind}s.{resource}",
                       f"container {name} {kind} {resource} {value!r} is not a Kubernetes quantity (e.g. 256Mi, 500m)")
                      for resource, value in values.items() if parse_quantity(value) is None]
        for resource in ("memory", "cpu"):
            request, limit = parse_quantity(requests.get(resource)), parse_quantity(limits.get(resource))
            if request is not None and limit is not None and request > limit:
                found.append((f"{path}.resources.requests.{resource}",
                              f"container {name} requests {requests[resource]} {resource}, more than its "
                              f"limit {limits[resource]}"))
    return found


def kustomization_problems(file: str, document: Any) -> list[ValidationProblem]:
    """Kustomization files: a mapping with known keys (kustomize has no OpenAPI schema bundled here)."""
    if not isinstance(document, Mapping):
        return [ValidationProblem(file=file, path="", message="a kustomization must be a YAML mapping")]
    problems = [ValidationProblem(file=file, path=str(key), message=f"unknown kustomization field {key!r}")
                for key in document if key not in KUSTOMIZATION_KEYS]
    for position, entry in enumerate(document.get("images") or []):
        if not isinstance(entry, Mapping) or not entry.get("name"):
            problems.append(ValidationProblem(file=file, path=f"images[{position}]", message="an images entry needs a name"))
        elif entry.get("newTag") == "latest":
            problems.append(ValidationProblem(file=file, path=f"images[name={entry['name']}].newTag",
                                              message="pin a version instead of newTag: latest"))
    return problems


def _file_problems(file: str, text: str) -> list[ValidationProblem]:
    try:
        documents = load_documents(file, text)
    except ManifestParseError as exc:
        return [ValidationProblem(file=file, path="", message=str(exc).removeprefix(f"{file}: "))]
    problems: list[ValidationProblem] = []
    for document in documents:
        if is_kustomization(file, document):
            problems += kustomization_problems(file, document)
    return problems


def _key(item: Rendered) -> tuple[str, str | None, str, str]:
    return item.kind, item.namespace, item.name, item.root


def _format_error_path(obj: Any, steps: list[Any]) -> str:
    """`spec.template.spec.containers[name=web].resources` from the validator's key/index steps."""
    text, node = "", obj
    for step in steps:
        if isinstance(step, int) and isinstance(node, list):
            item = node[step] if step < len(node) else None
            text += f"[name={item['name']}]" if isinstance(item, Mapping) and "name" in item else f"[{step}]"
            node = item
        else:
            text += f".{step}" if text else str(step)
            node = node.get(step) if isinstance(node, Mapping) else None
    return text
