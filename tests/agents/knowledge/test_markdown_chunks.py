"""Runbooks are chunked by heading: each chunk carries its heading path; code fences are not headings."""

from __future__ import annotations

from agents.knowledge.markdown import MAX_CHUNK_CHARS, Chunk, chunk_markdown, title_of

RUNBOOK = """# Pod OOMKilled

Intro text.

## Fix
Raise the limit.

```sh
# not a heading: a shell comment
kubectl top pod
```

### JVM
Set -Xmx below the limit.

## Empty

# Appendix
See also.
"""


def test_sections_carry_their_heading_path_and_fences_stay_whole() -> None:
    chunks = chunk_markdown(RUNBOOK, "fallback")
    assert [c.heading for c in chunks] == ["Pod OOMKilled", "Pod OOMKilled > Fix", "Pod OOMKilled > Fix > JVM",
                                           "Appendix"]
    assert "# not a heading: a shell comment" in chunks[1].content
    assert chunks[2] == Chunk("Pod OOMKilled > Fix > JVM", "Set -Xmx below the limit.")
    assert title_of(RUNBOOK, "x") == "Pod OOMKilled"
    assert title_of("no headings", "fallback") == "fallback"


def test_text_before_any_heading_uses_the_title_and_long_sections_split_at_paragraphs() -> None:
    paragraph = "word " * 200  # 1000 chars
    chunks = chunk_markdown(f"preamble\n\n## Long\n{paragraph}\n\n{paragraph}\n\n{'x' * (MAX_CHUNK_CHARS + 10)}", "T")
    assert chunks[0] == Chunk("T", "preamble")
    long = [c for c in chunks if c.heading == "Long"]
    assert len(long) == 4 and all(len(c.content) <= MAX_CHUNK_CHARS for c in long)
    assert chunk_markdown("# Only\n## Headings\n", "T") == []
