"""Skills as data: `agents/skills/<fault>.yaml`, each inheriting `base.yaml`; one pydantic model per format.

Inheritance: a skill's keys replace its parent's, except `memory` (merged key by key) and `safety_rules`
(the parent's rules always apply; the child's are added). A load error names the file and the field:
`agents/skills/oom.yaml: steps[1].checks[0]: unknown check 'oom' (known: ...)`.
Adding a skill is adding a file: no code changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agents.errors import PermanentError
from agents.taxonomy import CATEGORIES

SKILLS_DIR = Path(__file__).parent
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
FOR_EACH_LIMIT = 5


class SkillError(PermanentError):
    """A skill file that cannot be used; the message names the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Triggers(_Model):
    alertnames: list[str] = []
    labels: dict[str, str] = Field(default_factory=dict, description="label -> regex the value must fully match")
    pod_reasons: list[str] = Field(default_factory=list, description="waiting/terminated/event reasons seen on pods")


class Step(_Model):
    id: str
    tool: str
    args: dict[str, Any] = {}  # values may hold {var} placeholders: namespace, pod, container, workload, ...
    checks: list[str] = []
    # The name of a variable holding a comma-separated list: the call is made once per item (at most
    # FOR_EACH_LIMIT), with `{item}` in the arguments (e.g. each StorageClass a not-found answer listed).
    for_each: str | None = None

    def needs(self) -> set[str]:
        """Variables the step's arguments use; the step is skipped while one is unknown."""
        found = {m for value in self.args.values() if isinstance(value, str) for m in _PLACEHOLDER.findall(value)}
        return (found - {"item"}) | {self.for_each} if self.for_each else found


class MemoryPolicy(_Model):
    lookback: str = "1h"  # how far back to look for related incidents and events
    scope: list[str] = ["namespace"]  # what "related" means: namespace, workload, node, alertname
    max_items: int = Field(5, ge=0, le=50)


class Skill(_Model):
    name: str
    description: str
    inherits: str | None = None
    category: str | None = None  # the category its checks usually conclude (for an unconfirmed match)
    triggers: Triggers = Triggers()
    prompt: str = "diagnostics"  # template under prompts/
    focus: str = ""  # the focused instructions rendered into the prompt
    tools: list[str]
    steps: list[Step] = []
    memory: MemoryPolicy = MemoryPolicy()
    safety_rules: list[str] = []

    @field_validator("category")
    @classmethod
    def _known_category(cls, category: str | None) -> str | None:
        if category is not None and category not in CATEGORIES:
            raise ValueError(f"{category!r} is not a known category (one of: {', '.join(CATEGORIES)})")
        return category


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = {**{k: v for k, v in parent.items() if k not in ("name", "description", "triggers")}, **child}
    merged["memory"] = {**parent.get("memory", {}), **child.get("memory", {})}
    merged["safety_rules"] = list(parent.get("safety_rules", [])) + [
        r for r in child.get("safety_rules", []) if r not in parent.get("safety_rules", [])]
    return merged


def _where(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
    return f"{loc or '<root>'}: {first['msg']}"


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SkillError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SkillError(f"{path}: a skill is a mapping, got {type(raw).__name__}")
    if raw.get("name") != path.stem:
        raise SkillError(f"{path}: name: {raw.get('name')!r} must be the file's stem {path.stem!r}")
    return raw


def _check_references(path: Path, skill: Skill, tool_names: set[str] | None, check_names: set[str]) -> None:
    from agents.prompts import PROMPTS_DIR

    if not (PROMPTS_DIR / f"{skill.prompt}.jinja2").is_file():
        raise SkillError(f"{path}: prompt: no template prompts/{skill.prompt}.jinja2")
    for i, tool in enumerate(skill.tools):
        if tool_names is not None and tool not in tool_names:
            raise SkillError(f"{path}: tools[{i}]: unknown tool {tool!r} (known: {', '.join(sorted(tool_names))})")
    for i, step in enumerate(skill.steps):
        if step.tool not in skill.tools:
            raise SkillError(f"{path}: steps[{i}].tool: {step.tool!r} is not in this skill's tools")
        for j, name in enumerate(step.checks):
            if name not in check_names:
                raise SkillError(f"{path}: steps[{i}].checks[{j}]: unknown check {name!r} "
                                 f"(known: {', '.join(sorted(check_names))})")


class SkillSet:
    """The loaded skills by name, and the matching of an incident to the skills that fit it."""

    def __init__(self, skills: Iterable[Skill], base: str = "base") -> None:
        self.skills = {s.name: s for s in skills}
        self.base = self.skills[base]

    def __getitem__(self, name: str) -> Skill:
        return self.skills[name]

    def tools(self) -> set[str]:
        return {tool for skill in self.skills.values() for tool in skill.tools}

    def score(self, skill: Skill, alerts: list[dict[str, str]], pod_reasons: set[str]) -> int:
        """Alert name +2, each matching label +1 (all must match), each observed pod reason +6 shared by the
        skills that list it (a reason only one skill knows, like OOMKilled, outweighs CrashLoopBackOff)."""
        trig = skill.triggers
        listing = {r: sum(r in s.triggers.pod_reasons for s in self.skills.values()) for r in pod_reasons}
        score = sum(6 // listing[r] for r in pod_reasons & set(trig.pod_reasons))
        for labels in alerts:
            if labels.get("alertname") in trig.alertnames:
                score += 2
            if trig.labels and all(re.fullmatch(rx, labels.get(k, "")) for k, rx in trig.labels.items()):
                score += len(trig.labels)
        return score

    def match(self, alerts: list[dict[str, str]], pod_reasons: frozenset[str] | set[str] = frozenset()) -> list[Skill]:
        """Domain skills whose triggers fit, best first; the base skill is not among them."""
        scored = [(self.score(s, alerts, set(pod_reasons)), s.name, s) for s in self.skills.values() if s is not self.base]
        return [s for score, _, s in sorted(scored, key=lambda item: (-item[0], item[1])) if score > 0]


def load_skills(folder: Path = SKILLS_DIR, *, tool_names: Iterable[str] | None = None) -> SkillSet:
    """Every `*.yaml` in `folder`, inheritance resolved and references checked against both registries.

    `tool_names` defaults to the shipped tool registry; checks always come from the check registry.
    """
    from agents.rules.registry import checks

    if tool_names is None:
        from agents.toolsets.shipped import default_registry

        tool_names = default_registry().names()
    known_tools, check_names = set(tool_names), set(checks())
    raw = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        data = _read(path)
        if data["name"] in raw:
            raise SkillError(f"{path}: name: duplicate skill {data['name']!r}")
        raw[data["name"]] = (path, data)
    if "base" not in raw:
        raise SkillError(f"{folder}: base.yaml is missing; every skill inherits it")
    resolved: dict[str, Skill] = {}

    def resolve(name: str, chain: tuple[str, ...] = ()) -> dict[str, Any]:
        path, data = raw[name]
        parent = data.get("inherits")
        if parent is None:
            return data
        if parent not in raw:
            raise SkillError(f"{path}: inherits: unknown skill {parent!r}")
        if parent in chain:
            raise SkillError(f"{path}: inherits: a cycle ({' -> '.join((*chain, name, parent))})")
        return _merge(resolve(parent, (*chain, name)), data)

    for name, (path, data) in raw.items():
        if name != "base" and data.get("inherits") is None:
            raise SkillError(f"{path}: inherits: a domain skill must inherit base (directly or through another skill)")
        try:
            skill = Skill.model_validate(resolve(name))
        except ValidationError as exc:
            raise SkillError(f"{path}: {_where(exc)}") from exc
        _check_references(path, skill, known_tools, check_names)
        resolved[name] = skill
    return SkillSet(resolved.values())
