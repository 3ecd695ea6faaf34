"""Check pasted YAML: parse it (a syntax error names its line), then every schema error and lint finding
of every document, each with its document, object and field path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from agents.manifests.lint import lint
from agents.manifests.problems import ManifestProblem
from agents.manifests.schema import SchemaUnavailable, schema_errors
from agents.toolsets.gitops.documents import ManifestParseError, load_documents

MAX_DOCUMENTS = 50


class ManifestReport(BaseModel):
    objects: list[str]  # "Kind/name" of each document that parsed
    problems: list[ManifestProblem]
    kubernetes_version: str

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def summary(self) -> str:
        if self.ok:
            return (f"{', '.join(self.objects) or 'no objects'}: valid for Kubernetes {self.kubernetes_version}, "
                    "no lint findings")
        lines = [f"{len(self.problems)} problem(s) for Kubernetes {self.kubernetes_version}:"]
        return "\n".join([*lines, *(f"- {p}" for p in self.problems)])


def check_manifests(text: str, kubernetes_version: str) -> ManifestReport:
    try:
        documents = load_documents("manifest", text)
    except ManifestParseError as exc:
        message = str(exc).removeprefix("manifest: ")
        document = _document_of(message)
        message = message.removeprefix(f"document {document} ")
        return ManifestReport(objects=[], kubernetes_version=kubernetes_version, problems=[
            ManifestProblem(document=document, object="", path="", rule="yaml", message=message)])
    problems: list[ManifestProblem] = []
    objects: list[str] = []
    for index, document in enumerate(documents[:MAX_DOCUMENTS]):
        if document is None:
            continue
        if not isinstance(document, Mapping):
            problems.append(ManifestProblem(document=index, object="", path="", rule="yaml",
                                            message=f"a manifest is a mapping, this document is a {type(document).__name__}"))
            continue
        name = _name(document)
        objects.append(name)
        problems += check_object(document, kubernetes_version, index=index)
    if len(documents) > MAX_DOCUMENTS:
        problems.append(ManifestProblem(document=MAX_DOCUMENTS, object="", path="", rule="yaml", severity="warning",
                                        message=f"only the first {MAX_DOCUMENTS} documents were checked"))
    return ManifestReport(objects=objects, problems=problems, kubernetes_version=kubernetes_version)


def check_object(obj: Mapping[str, Any], kubernetes_version: str, *, index: int = 0) -> list[ManifestProblem]:
    name = _name(obj)
    problems: list[ManifestProblem] = []
    missing = [key for key in ("apiVersion", "kind") if not obj.get(key)]
    if missing:
        return [ManifestProblem(document=index, object=name, path=key, rule="schema", message=f"{key} is missing")
                for key in missing]
    try:
        found = schema_errors(obj, kubernetes_version)
    except SchemaUnavailable as exc:
        problems.append(ManifestProblem(document=index, object=name, path="", rule="schema", severity="warning",
                                        message=f"not checked against a schema: {exc}"))
        found = []
    problems += [ManifestProblem(document=index, object=name, path=path, rule="schema", message=message)
                 for path, message in found]
    problems += [ManifestProblem(document=index, object=name, path=path, rule=rule, message=message)
                 for rule, path, message in lint(obj)]
    return problems


def _name(obj: Mapping[str, Any]) -> str:
    kind = obj.get("kind") or "?"
    name = (obj.get("metadata") or {}).get("name") if isinstance(obj.get("metadata"), Mapping) else None
    return f"{kind}/{name or '?'}"


def _document_of(message: str) -> int:
    head = message.split(" ", 2)
    return int(head[1]) if len(head) > 1 and head[0] == "document" and head[1].isdigit() else 0
