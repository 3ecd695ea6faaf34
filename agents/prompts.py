"""One loader for every prompt: `render_prompt("diagnostics", **vars)` renders `prompts/diagnostics.jinja2`.

Undefined variables are errors (StrictUndefined), so a missing value fails a test instead of reaching a
model as an empty string. Partials (`_safety.jinja2`, `_tool_output.jinja2`) are included by name.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(PROMPTS_DIR), undefined=StrictUndefined, autoescape=False,
                       trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=False)


def render_prompt(name: str, **variables: Any) -> str:
    """Render `prompts/<name>.jinja2` with `variables`; an unknown name or a missing variable raises."""
    return _environment().get_template(f"{name}.jinja2").render(**variables).strip() + "\n"
