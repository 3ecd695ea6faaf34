"""Reading scenario files: YAML to a validated `Scenario`, with errors that name the file and the field path,
and where the shipped scenarios live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from sim.scenario.schema import Scenario, ScenarioError


def _loc(parts: tuple[int | str, ...]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _format(path: Path | str, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        loc = _loc(tuple(p for p in item["loc"] if not str(p).startswith("function-")))
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            msg = "unknown field (a typo?)"
        elif item["type"] == "missing":
            msg = "field required"
        # Validators that look at the whole model report their own field path first.
        if ": " in msg and (not loc or msg.split(": ", 1)[0].startswith(("objects[", "expect.", "nodes"))):
            head, msg = msg.split(": ", 1)
            loc = f"{loc}.{head}" if loc and not head.startswith(loc) else head
        lines.append(f"{loc}: {msg}" if loc else msg)
    return f"{path}: " + f"\n{path}: ".join(lines)


def parse_scenario(data: Any, path: str | Path = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario must be a YAML mapping, not {type(data).__name__}")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_format(path, exc)) from None
    scenario._path = Path(path)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{path}: invalid YAML{where}: {problem}") from None
    return parse_scenario(data, path)


def scenario_dir() -> Path:
    return Path(__file__).parent.parent / "scenarios"


def shipped_scenarios() -> list[Path]:
    return sorted(scenario_dir().glob("*.yaml"))


def find_scenario(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") and candidate.exists():
        return candidate
    shipped = scenario_dir() / f"{name_or_path}.yaml"
    if shipped.exists():
        return shipped
    known = ", ".join(p.stem for p in shipped_scenarios())
    raise ScenarioError(f"{name_or_path}: no such scenario file or shipped scenario (shipped: {known})")
