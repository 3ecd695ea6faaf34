"""Every schema error of an object, not only the first: the bundled Kubernetes schemas of `kubernetes_validate`
(strict: unknown fields fail), walked with jsonschema's `iter_errors`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from agents.toolsets.gitops.validate import _format_error_path


class SchemaUnavailable(Exception):
    """No schema for this kind (a CRD) or this Kubernetes version."""


def schema_errors(obj: Mapping[str, Any], kubernetes_version: str) -> list[tuple[str, str]]:
    """(field path, message) for each schema error, in document order."""
    validator = _validator(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""), kubernetes_version)
    errors = sorted(validator.iter_errors(dict(obj)), key=lambda e: [str(p) for p in e.absolute_path])
    return [(_format_error_path(obj, list(e.absolute_path)), f"schema: {e.message}") for e in errors]


@lru_cache(maxsize=64)
def _validator(api_version: str, kind: str, kubernetes_version: str) -> Any:
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    version = kubernetes_version.removeprefix("v")
    if utils.major_minor(version) > utils.latest_version():
        raise SchemaUnavailable(f"Kubernetes {version} is newer than the bundled schemas ({utils.latest_version()})")
    bundled = [v for v in utils.all_versions() if utils.major_minor(v) <= utils.major_minor(version)]
    if not bundled or not api_version or not kind:
        raise SchemaUnavailable(f"no schema for {kind or '?'} {api_version or '?'} in Kubernetes {version}")
    schema_dir = f"v{bundled[-1]}-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group}.json", version)
    except FileNotFoundError:
        raise SchemaUnavailable(f"no bundled schema for {kind} {api_version} (a custom resource?)") from None
    definitions = utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)
