"""Structured edits of one YAML document with ruamel round-trip, so the diff is only what must change.

A reviewer approves a diff; every line the edit did not need (re-indented lists, re-quoted
strings, lost comments) is noise they must read and a reason to distrust the tool. So:
- only the edited document is parsed and dumped (documents.py), the others stay byte for byte;
- indentation is detected from the file, quotes, flow style and literal blocks are kept;
- the dumped text is mapped back onto the original lines, so anything ruamel normalises
  elsewhere in the document is dropped from the result, and comments stay where the author
  put them (layout.py).
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString, ScalarString

from agents.toolsets.gitops.documents import Chunk, join_documents, split_documents
from agents.toolsets.gitops.layout import splice, tidy
from agents.toolsets.gitops.fieldpath import (
    MISSING,
    FieldPathError,
    Index,
    Key,
    Segment,
    Select,
    find_item,
    format_path,
    is_remove,
    parse_path,
)

# Lists whose items are identities, not settings: a selector that matches no container is a wrong
# name (usually a hallucinated one), not a request to add a container.
_NEVER_CREATE = {"containers", "initContainers", "ephemeralContainers"}
# Conventional order inside `resources`: a new `requests` goes before an existing `limits`.
_GOES_BEFORE = {"requests": "limits"}


@dataclass(frozen=True)
class Edit:
    file: str
    old_text: str
    new_text: str
    diff: str
    old_value: Any


def apply_change(text: str, file: str, document: int, field_path: str, new_value: Any) -> Edit:
    """Set `field_path` in document `document` of `text` to `new_value` (REMOVE deletes it)."""
    segments = parse_path(field_path)
    chunks = split_documents(text)
    if not 0 <= document < len(chunks):
        raise FieldPathError(f"{file} has no document {document} (it has {len(chunks)})")
    body = chunks[document].body
    yaml = _yaml_for(body)
    data = yaml.load(body)
    if not isinstance(data, CommentedMap):
        raise FieldPathError(f"{file} document {document} is not a YAML mapping")
    before = _dump(yaml, data)
    old_value = _plain(_set(data, segments, new_value, file))
    after = _dump(yaml, data)
    chunks[document] = Chunk(chunks[document].separator, tidy(body, splice(body, before, after)))
    new_text = join_documents(chunks)
    return Edit(file, text, new_text, unified_diff(file, text, new_text), old_value)


def unified_diff(file: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"a/{file}", tofile=f"b/{file}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def diff_hash(diff: str) -> str:
    """What an approval is bound to: the same diff, byte for byte, or a new approval."""
    return hashlib.sha256(diff.encode("utf-8")).hexdigest()


def changed_lines(diff: str) -> tuple[int, int]:
    """(removed, added) line counts of a unified diff."""
    lines = diff.splitlines()
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    return removed, added


# -- reading and writing --------------------------------------------------------------------------


def _yaml_for(text: str) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line the author wrote on one line
    mapping, sequence, offset = detect_indent(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


_KEY_LINE = re.compile(r"^(\s*)(?:- )?[^#\s][^#]*:\s*(?:#.*)?$")


def detect_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as this file writes them; defaults to 2, 4, 2 (dash indented)."""
    mappings: Counter[int] = Counter()
    offsets: Counter[int] = Counter()
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line, following in zip(lines, lines[1:], strict=False):
        match = _KEY_LINE.match(line)
        if not match:
            continue
        key_indent = len(match.group(1)) + (2 if line.lstrip().startswith("- ") else 0)
        child_indent = len(following) - len(following.lstrip())
        if following.lstrip().startswith("- "):
            offsets[child_indent - key_indent] += 1
        elif child_indent > key_indent:
            mappings[child_indent - key_indent] += 1
    mapping = mappings.most_common(1)[0][0] if mappings else 2
    offset = offsets.most_common(1)[0][0] if offsets else 2
    return mapping, offset + 2, offset


def _dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


# -- the change itself ----------------------------------------------------------------------------


def _set(root: CommentedMap, segments: tuple[Segment, ...], value: Any, file: str) -> Any:
    """Walk (creating what is missing), change the last step, return the old value (or MISSING)."""
    node: Any = root
    for depth, segment in enumerate(segments[:-1]):
        node = _step(node, segment, segments[depth + 1], segments[:depth + 1], file)
    last = segments[-1]
    where = format_path(segments)
    if isinstance(last, Key):
        if not isinstance(node, Mapping):
            raise FieldPathError(f"{file}: {where}: the parent is not a mapping")
        old = node.get(last.name, MISSING)
        if is_remove(value):
            if old is not MISSING:
                del node[last.name]
        else:
            _insert(node, last.name, _merge(old, value))
        return old
    if not isinstance(node, list):
        raise FieldPathError(f"{file}: {where}: the parent is not a list")
    position = find_item(node, last)
    old = node[position] if position is not None else MISSING
    if is_remove(value):
        if position is not None:
            del node[position]
    elif position is not None:
        node[position] = _merge(old, value)
    elif isinstance(last, Index) and last.index == len(node):
        node.append(_commented(value))
    elif isinstance(last, Select) and isinstance(value, Mapping) and _list_name(segments) not in _NEVER_CREATE:
        node.append(_commented({last.key: last.value, **value}))
    else:
        raise FieldPathError(f"{file}: {where}: no such list item (the list has {len(node)})")
    return old


def _step(node: Any, segment: Segment, following: Segment, walked: tuple[Segment, ...], file: str) -> Any:
    where = format_path(walked)
    empty = CommentedMap() if isinstance(following, Key) else CommentedSeq()
    if isinstance(segment, Key):
        if not isinstance(node, Mapping):
            raise FieldPathError(f"{file}: {where}: the parent is not a mapping")
        if node.get(segment.name) is None:  # absent, or `key:` with no value
            _insert(node, segment.name, empty)
        return node[segment.name]
    if not isinstance(node, list):
        raise FieldPathError(f"{file}: {where}: expected a list here")
    position = find_item(node, segment)
    if position is not None:
        return node[position]
    if isinstance(segment, Select) and _list_name(walked) not in _NEVER_CREATE:
        item = CommentedMap([(segment.key, segment.value)])
        node.append(item)
        return item
    if isinstance(segment, Index) and segment.index == len(node):
        node.append(empty)
        return empty
    names = ", ".join(str(i.get("name")) for i in node if isinstance(i, Mapping) and "name" in i)
    raise FieldPathError(f"{file}: {where}: no such item" + (f" (items: {names})" if names else ""))


def _list_name(walked: tuple[Segment, ...]) -> str:
    """The key of the list the last segment selects in (`env` for `...env[name=X]`)."""
    return next((s.name for s in reversed(walked[:-1]) if isinstance(s, Key)), "")


def _insert(node: CommentedMap, key: str, value: Any) -> None:
    if key in node:
        node[key] = value
        return
    before = _GOES_BEFORE.get(key)
    if before in node:
        node.insert(list(node).index(before), key, value)
    else:
        node[key] = value


def _merge(old: Any, new: Any) -> Any:
    """What to store so the document ends up equal to `new`, touching as little of `old` as it can."""
    if isinstance(new, Mapping) and isinstance(old, CommentedMap):
        for key in [k for k in old if k not in new]:
            del old[key]
        for key, value in new.items():
            current = old.get(key, MISSING)
            if not _same(current, value):
                old[key] = _merge(current, value)
        return old
    if isinstance(new, list) and isinstance(old, CommentedSeq) and len(new) == len(old):
        for position, value in enumerate(new):
            if not _same(old[position], value):
                old[position] = _merge(old[position], value)
        return old
    if _same(old, new):
        return old
    if isinstance(new, str) and isinstance(old, ScalarString):
        if isinstance(old, LiteralScalarString):
            return LiteralScalarString(new) if "\n" in new else new
        return type(old)(new)  # keep the author's quotes
    return _commented(new)


def _same(old: Any, new: Any) -> bool:
    if old is MISSING or isinstance(old, bool) != isinstance(new, bool):
        return False
    if isinstance(old, str) != isinstance(new, str):
        return False  # "80" and 80 are different manifests
    return bool(_plain(old) == _plain(new))


def _commented(value: Any) -> Any:
    if isinstance(value, Mapping):
        return CommentedMap((k, _commented(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return CommentedSeq(_commented(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    """Plain Python data (for comparing, and for the old value that goes into a PlanStep)."""
    if value is MISSING:
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value
