"""Conformance: every shipped skill parses, inherits base, and names only tools and checks that exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.prompts import render_prompt
from agents.rules.registry import checks
from agents.skills.loader import SKILLS_DIR, SkillSet, load_skills
from agents.toolsets import default_registry
from agents.taxonomy import CATEGORIES

SKILL_FILES = sorted(SKILLS_DIR.glob("*.yaml"))
DOMAIN_FILES = [p for p in SKILL_FILES if p.stem != "base"]


@pytest.fixture(scope="module")
def skills() -> SkillSet:
    return load_skills(tool_names=default_registry().names())


def test_the_issue_s_fault_classes_are_shipped(skills: SkillSet) -> None:
    wanted = {"oom_killed", "crashloop", "image_pull", "unschedulable", "service_unreachable", "storage",
              "node_not_ready", "certificate_expiry"}
    assert wanted <= set(skills.skills)


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.stem)
def test_skill_inherits_base(path: Path, skills: SkillSet) -> None:
    skill = skills[path.stem]
    assert skill.inherits is not None
    chain, name = [], skill.name
    while (parent := skills[name].inherits) is not None:
        chain.append(parent)
        name = parent
    assert chain[-1] == "base"
    # the base skill's safety rules always apply, whatever the child adds
    assert set(skills.base.safety_rules) <= set(skill.safety_rules)


@pytest.mark.parametrize("path", SKILL_FILES, ids=lambda p: p.stem)
def test_skill_names_only_known_tools_and_checks(path: Path, skills: SkillSet) -> None:
    skill = skills[path.stem]
    tools, known_checks = set(default_registry().names()), set(checks())
    assert set(skill.tools) <= tools
    assert skill.steps, "a skill needs a decision tree"
    for step in skill.steps:
        assert step.tool in skill.tools
        assert set(step.checks) <= known_checks


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.stem)
def test_domain_skill_is_focused(path: Path, skills: SkillSet) -> None:
    skill = skills[path.stem]
    assert skill.category in CATEGORIES
    assert skill.focus.strip()
    assert skill.triggers.alertnames or skill.triggers.pod_reasons or skill.triggers.labels
    assert len(skill.tools) < len(skills.base.tools), "a domain skill restricts the toolset"
    assert 10 <= len(path.read_text().splitlines()) <= 60


@pytest.mark.parametrize("path", SKILL_FILES, ids=lambda p: p.stem)
def test_skill_prompt_renders(path: Path, skills: SkillSet) -> None:
    skill = skills[path.stem]
    text = render_prompt(skill.prompt, cluster="prod", namespace="shop", skill=skill,
                         alerts=[{"labels": {"alertname": "KubePodCrashLooping", "pod": "web-1"}}],
                         findings=[], results=[], categories=list(CATEGORIES))
    assert skill.focus.split()[0] in text
    assert "Never read Secret values" in text
    assert all(tool in text for tool in skill.tools)


def test_every_check_is_used_by_some_skill(skills: SkillSet) -> None:
    used = {name for skill in skills.skills.values() for step in skill.steps for name in step.checks}
    assert set(checks()) - used == set()
