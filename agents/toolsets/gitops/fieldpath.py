"""Field paths into a manifest: `spec.template.spec.containers[name=web].resources.limits.memory`.

One grammar for every writer of paths (rules, the model, scenario files, reviewers):
- `key` or `["key.with.dots"]` for a map key (`data["config.json"]`, `spec.hard["requests.cpu"]`);
- `[name=x]` selects the list item whose `name` is x; `[x]` (no `=`, not a number) is the same, the
  way scenario files write it (`containers[memory-hog]`, `images[nginx]`);
- `[0]` is a plain index.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.errors import PermanentError

# The strategic-merge-patch directive, borrowed as the JSON-able way to say "remove this field":
# `None` already means "value not known yet" in a SuggestedFix (the rules leave it to the planner).
REMOVE: dict[str, str] = {"$patch": "delete"}


def is_remove(value: Any) -> bool:
    return isinstance(value, Mapping) and dict(value) == REMOVE


class FieldPathError(PermanentError):
    """A path that does not parse, or does not fit the document it is applied to."""


@dataclass(frozen=True)
class Key:
    name: str

    def __str__(self) -> str:
        plain = re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", self.name)
        return f".{self.name}" if plain else f'["{self.name}"]'


@dataclass(frozen=True)
class Select:
    key: str
    value: str

    def __str__(self) -> str:
        return f"[{self.key}={self.value}]"


@dataclass(frozen=True)
class Index:
    index: int

    def __str__(self) -> str:
        return f"[{self.index}]"


Segment = Key | Select | Index

_TOKEN = re.compile(r"""
    \.?(?P<key>[^.\[\]"]+)           # plain key, optionally after a dot
  | \[\s*"(?P<quoted>[^"]*)"\s*\]    # ["quoted.key"]
  | \[\s*'(?P<single>[^']*)'\s*\]    # ['quoted.key']
  | \[(?P<bracket>[^\]]*)\]          # [0], [name=x], [x]
""", re.VERBOSE)


def parse_path(path: str) -> tuple[Segment, ...]:
    """Segments of `path`; a FieldPathError names the path and where it stopped making sense."""
    segments: list[Segment] = []
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None or match.end() == pos:
            raise FieldPathError(f"field path {path!r} does not parse at character {pos + 1}")
        if match.group("key") is not None:
            segments.append(Key(match.group("key")))
        elif match.group("quoted") is not None or match.group("single") is not None:
            segments.append(Key(match.group("quoted") if match.group("quoted") is not None else match.group("single")))
        else:
            inner = match.group("bracket").strip()
            if re.fullmatch(r"\d+", inner):
                segments.append(Index(int(inner)))
            elif "=" in inner:
                key, _, value = inner.partition("=")
                segments.append(Select(key.strip(), value.strip().strip("\"'")))
            elif inner:
                segments.append(Select("name", inner.strip("\"'")))
            else:
                raise FieldPathError(f"field path {path!r} has an empty [] at character {pos + 1}")
        pos = match.end()
    if not segments:
        raise FieldPathError("field path is empty")
    return tuple(segments)


def format_path(segments: tuple[Segment, ...] | list[Segment]) -> str:
    return "".join(str(s) for s in segments).lstrip(".")


def normalize_path(path: str) -> str:
    """The canonical spelling (`containers[x]` -> `containers[name=x]`), for comparing and display."""
    return format_path(parse_path(path))


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def find_item(items: list[Any], segment: Select | Index) -> int | None:
    """Position of the list item `segment` picks, or None."""
    if isinstance(segment, Index):
        return segment.index if segment.index < len(items) else None
    for position, item in enumerate(items):
        if isinstance(item, Mapping) and str(item.get(segment.key)) == segment.value:
            return position
    return None


def resolve(document: Any, segments: tuple[Segment, ...]) -> Any:
    """The value at `segments`, or MISSING when any step is absent (never raises on shape)."""
    node = document
    for segment in segments:
        if isinstance(segment, Key):
            if not isinstance(node, Mapping) or segment.name not in node:
                return MISSING
            node = node[segment.name]
        else:
            if not isinstance(node, list):
                return MISSING
            position = find_item(node, segment)
            if position is None:
                return MISSING
            node = node[position]
    return node
