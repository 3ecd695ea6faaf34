"""Markdown runbooks into chunks, one per heading section, each carrying its heading path.

A section's text is searched together with the headings above it ("OOMKilled > Fix"), so a chunk
says what it is about even out of context. Long sections are split at paragraph boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHUNK_CHARS = 1500
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Chunk:
    heading: str  # the heading path, e.g. "Pod OOMKilled > Fix"
    content: str


def title_of(text: str, fallback: str) -> str:
    """The first level-1 heading, else the first heading, else `fallback`."""
    headings = [m for line in text.splitlines() if (m := _HEADING.match(line))]
    first = next((m for m in headings if len(m.group(1)) == 1), headings[0] if headings else None)
    return first.group(2).strip() if first else fallback


def chunk_markdown(text: str, title: str) -> list[Chunk]:
    """Split at headings (never inside a fenced code block); empty sections are dropped."""
    sections: list[tuple[list[str], list[str]]] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        sections.append(([h for _, h in path] or [title], list(body)))
        body.clear()

    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            body.append(line)
            continue
        flush()
        level = len(match.group(1))
        path = [(lv, h) for lv, h in path if lv < level] + [(level, match.group(2).strip())]
    flush()
    chunks = []
    for headings, lines in sections:
        content = "\n".join(lines).strip()
        if not content:
            continue
        heading = " > ".join(headings)
        chunks.extend(Chunk(heading, piece) for piece in _split(content))
    return chunks


def _split(content: str) -> list[str]:
    """Paragraph-sized pieces of at most MAX_CHUNK_CHARS (a single longer paragraph is cut hard)."""
    if len(content) <= MAX_CHUNK_CHARS:
        return [content]
    pieces: list[str] = []
    current = ""
    for paragraph in re.split(r"\n\s*\n", content):
        while len(paragraph) > MAX_CHUNK_CHARS:
            pieces.extend(p for p in (current,) if p)
            current = ""
            pieces.append(paragraph[:MAX_CHUNK_CHARS])
            paragraph = paragraph[MAX_CHUNK_CHARS:]
        if current and len(current) + 2 + len(paragraph) > MAX_CHUNK_CHARS:
            pieces.append(current)
            current = paragraph
        else:
            current = f"{current}\n\n{paragraph}" if current else paragraph
    if current.strip():
        pieces.append(current)
    return pieces
