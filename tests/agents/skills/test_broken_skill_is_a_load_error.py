"""A malformed skill is rejected with the file and the field; duplicates and unknown references too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agents.skills.loader import SKILLS_DIR, SkillError, load_skills

TOOLS = ["describe_pod", "get_logs", "list_pods", "get_events"]
GOOD = """\
name: {name}
inherits: base
description: test skill
category: oom_killed
tools: [describe_pod]
steps:
  - {{id: pod, tool: describe_pod, args: {{namespace: "{{namespace}}", name: "{{pod}}"}}, checks: [oom_killed]}}
"""
BASE = """\
name: base
description: base
tools: [describe_pod, get_logs, list_pods, get_events]
steps:
  - {id: pod, tool: describe_pod, args: {namespace: "{namespace}", name: "{pod}"}, checks: []}
safety_rules: [read-only]
"""


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


CASES = [
    ("unknown-field", {"x": GOOD.format(name="x") + "colour: red\n"}, "x.yaml: colour: Extra inputs are not permitted"),
    ("unknown-category", {"x": GOOD.format(name="x").replace("oom_killed\n", "oom\n")}, "x.yaml: category:"),
    ("unknown-tool", {"x": GOOD.format(name="x").replace("tools: [describe_pod]", "tools: [describe_pod, kubectl_exec]")},
     "x.yaml: tools[1]: unknown tool 'kubectl_exec'"),
    ("unknown-check", {"x": GOOD.format(name="x").replace("checks: [oom_killed]", "checks: [oom]")},
     "x.yaml: steps[0].checks[0]: unknown check 'oom'"),
    ("step-tool-not-allowed", {"x": GOOD.format(name="x").replace("tool: describe_pod,", "tool: get_logs,")},
     "x.yaml: steps[0].tool: 'get_logs' is not in this skill's tools"),
    ("name-differs-from-file", {"x": GOOD.format(name="y")}, "x.yaml: name: 'y' must be the file's stem 'x'"),
    ("duplicate-name", {"x": GOOD.format(name="x"), "x-copy": GOOD.format(name="x")}, "x-copy.yaml: name:"),
    ("no-inherits", {"x": GOOD.format(name="x").replace("inherits: base\n", "")}, "x.yaml: inherits: a domain skill must"),
    ("unknown-parent", {"x": GOOD.format(name="x").replace("inherits: base", "inherits: nope")},
     "x.yaml: inherits: unknown skill 'nope'"),
    ("cycle", {"x": GOOD.format(name="x").replace("inherits: base", "inherits: y"),
               "y": GOOD.format(name="y").replace("inherits: base", "inherits: x")}, "inherits: a cycle"),
    ("not-yaml", {"x": "name: [unclosed\n"}, "x.yaml: not valid YAML"),
    ("missing-steps-field-type", {"x": GOOD.format(name="x").replace("steps:\n", "steps: 3\nold_steps:\n")},
     "x.yaml: "),
    ("bad-prompt", {"x": GOOD.format(name="x") + "prompt: nope\n"}, "x.yaml: prompt: no template prompts/nope.jinja2"),
]


@pytest.mark.parametrize(("files", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_skill_is_rejected_naming_file_and_field(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(SkillError) as caught:
        load_skills(_folder(tmp_path, files), tool_names=TOOLS)
    assert message in str(caught.value)


def test_a_good_skill_loads_and_inherits(tmp_path: Path) -> None:
    skills = load_skills(_folder(tmp_path, {"x": GOOD.format(name="x")}), tool_names=TOOLS)
    assert skills["x"].safety_rules == ["read-only"]
    assert skills["x"].tools == ["describe_pod"]


def test_adding_a_skill_needs_no_code(tmp_path: Path) -> None:
    shutil.copytree(SKILLS_DIR, tmp_path / "skills", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (tmp_path / "skills" / "gpu.yaml").write_text(GOOD.format(name="gpu").replace(
        "category: oom_killed", "category: unschedulable\ntriggers: {pod_reasons: [Unschedulable]}"))
    skills = load_skills(tmp_path / "skills")
    assert "gpu" in skills.skills
    assert [s.name for s in skills.match([{"alertname": "Custom"}], {"Unschedulable"})][:2] == ["gpu", "unschedulable"]
