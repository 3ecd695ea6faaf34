"""Multi-document YAML files split into documents by their `---` lines, so one can be edited alone.

Splitting on the text (not through the YAML parser) keeps every other document byte for byte and
gives the tree reader and the editor the same document numbering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from agents.errors import PermanentError

_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$")


class ManifestParseError(PermanentError):
    """A file in the GitOps tree that is not valid YAML."""


@dataclass(frozen=True)
class Chunk:
    separator: str  # the `---` line that opened this document ("" for the first)
    body: str


def split_documents(text: str) -> list[Chunk]:
    chunks: list[Chunk] = []
    separator, lines = "", []
    for line in text.splitlines(keepends=True):
        if _SEPARATOR.match(line.rstrip("\r\n")):
            chunks.append(Chunk(separator, "".join(lines)))
            separator, lines = line, []
        else:
            lines.append(line)
    chunks.append(Chunk(separator, "".join(lines)))
    # A file that opens with `---` (after comments only) has no document before it.
    if len(chunks) > 1 and not _has_content(chunks[0].body):
        first = chunks.pop(0)
        chunks[0] = Chunk(first.body + chunks[0].separator, chunks[0].body)
    return chunks


def join_documents(chunks: list[Chunk]) -> str:
    return "".join(c.separator + c.body for c in chunks)


def _has_content(body: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in body.splitlines())


def load_documents(path: str, text: str) -> list[Any]:
    """Plain Python data for each document (None for an empty one); ManifestParseError names the file."""
    loader = YAML(typ="safe", pure=True)
    documents: list[Any] = []
    for index, chunk in enumerate(split_documents(text)):
        try:
            documents.append(loader.load(chunk.body) if _has_content(chunk.body) else None)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            raise ManifestParseError(f"{path}: document {index}{where} is not valid YAML: "
                                     f"{getattr(exc, 'problem', None) or exc}") from None
    return documents
