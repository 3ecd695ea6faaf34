"""The README's configuration table is the settings' own descriptions."""

from __future__ import annotations

import re
from pathlib import Path

from app.settings import settings_table_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_configuration_table_is_generated_from_settings() -> None:
    text = README.read_text()
    match = re.search(r"<!-- settings-table:start -->\n(.*?)<!-- settings-table:end -->", text, re.S)
    assert match, "README lost its settings-table markers"
    assert match.group(1).strip() == settings_table_markdown().strip(), (
        "README configuration table is stale: run `python -m app.cli config --markdown` and paste it"
    )


def test_readme_names_the_two_commands_ci_runs() -> None:
    text = README.read_text()
    assert "make demo" in text and "make test" in text
    assert "make test" in (README.parent / ".ci" / "run").read_text()
