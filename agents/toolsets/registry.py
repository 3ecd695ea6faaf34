"""Toolsets and the registry of tools: where a declaration becomes a tool the model can be offered.

Tools are declared with a decorator on their function (`@KUBERNETES.tool(...)`), never also in YAML.
A toolset carries what its tools share: prerequisites (a status with a reason, like `holmes toolset
list`), how its client's exceptions read as one sentence, and the existence check of referenced objects.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from agents.context import Context
from agents.errors import PermanentError
from agents.safety.levels import SafetyLevel
from agents.toolsets.base import ToolEnv, ToolFailure, ToolFn, ToolSpec
from agents.toolsets.transformers import TRANSFORMERS


class ToolRegistryError(PermanentError):
    """A broken declaration (duplicate name, unknown transformer, unknown tool named): a load error."""


@dataclass(frozen=True)
class ToolsetStatus:
    name: str
    enabled: bool
    reason: str


Prerequisite = Callable[[Context], str | None]  # why the toolset cannot run, or None
Explainer = Callable[[BaseException], ToolFailure | None]
RefCheck = Callable[[ToolEnv, ToolSpec, BaseModel], Awaitable[str | None]]  # a message when a ref is missing


@dataclass
class Toolset:
    name: str
    description: str
    prerequisites: Prerequisite = lambda _context: None
    explain: Explainer | None = None
    check_refs: RefCheck | None = None
    offered: bool = True  # False: registered only so calls are refused explicitly (forbidden tools)
    specs: list[ToolSpec] = field(default_factory=list)

    def tool(self, *, params: type[BaseModel], safety: SafetyLevel = SafetyLevel.READ_ONLY,
             timeout: float = 10.0, output_cap: int = 6000, transformers: tuple[str, ...] = ("redact",),
             kind: str | None = None, name: str | None = None) -> Callable[[ToolFn], ToolFn]:
        """Declare the decorated function as a tool; its docstring is the description for the model."""

        def declare(fn: ToolFn) -> ToolFn:
            tool_name = name or fn.__name__
            unknown = [t for t in transformers if t not in TRANSFORMERS]
            if unknown:
                raise ToolRegistryError(f"tool {tool_name}: unknown transformers {unknown}")
            if any(s.name == tool_name for s in self.specs):
                raise ToolRegistryError(f"tool {tool_name} is declared twice in toolset {self.name}")
            self.specs.append(ToolSpec(
                name=tool_name, description=inspect.cleandoc(fn.__doc__ or "").strip(), params=params,
                safety=safety, timeout_seconds=timeout, output_cap=output_cap, transformers=transformers,
                toolset=self.name, fn=fn, kind=kind))
            return fn

        return declare

    def status(self, context: Context) -> ToolsetStatus:
        if not self.offered:
            return ToolsetStatus(self.name, False, "never offered: its tools are forbidden; registered so "
                                                   "calls are refused explicitly")
        if self.name not in context.enabled_toolsets:
            return ToolsetStatus(self.name, False, "not in the enabled toolsets")
        missing = self.prerequisites(context)
        if missing:
            return ToolsetStatus(self.name, False, missing)
        return ToolsetStatus(self.name, True, "prerequisites met")


class ToolRegistry:
    """Every tool by name. A duplicate name is a load error, not a warning."""

    def __init__(self) -> None:
        self._specs: dict[str, ToolSpec] = {}
        self._toolsets: dict[str, Toolset] = {}

    def add_toolset(self, toolset: Toolset, specs: Iterable[ToolSpec] | None = None) -> None:
        """Register a toolset and its tools (or `specs`, e.g. test variants with a smaller cap)."""
        if toolset.name in self._toolsets:
            raise ToolRegistryError(f"toolset {toolset.name} is registered twice")
        self._toolsets[toolset.name] = toolset
        for spec in toolset.specs if specs is None else specs:
            self.register(spec)

    def register(self, spec: ToolSpec) -> None:
        if spec.name in self._specs:
            raise ToolRegistryError(f"duplicate tool name {spec.name!r} (toolsets {self._specs[spec.name].toolset} "
                                    f"and {spec.toolset})")
        if spec.toolset not in self._toolsets:
            self._toolsets[spec.toolset] = Toolset(spec.toolset, description="")
        self._specs[spec.name] = spec

    def get(self, name: str) -> ToolSpec | None:
        return self._specs.get(name)

    def toolset(self, name: str) -> Toolset | None:
        return self._toolsets.get(name)

    def toolsets(self) -> list[Toolset]:
        return list(self._toolsets.values())

    def names(self) -> list[str]:
        return list(self._specs)

    def specs(self, names: Iterable[str] | None = None) -> list[ToolSpec]:
        """The named specs in the given order (all when None); an unknown name is a load error."""
        if names is None:
            return list(self._specs.values())
        names = list(names)
        unknown = [n for n in names if n not in self._specs]
        if unknown:
            raise ToolRegistryError(f"unknown tools {unknown}; known: {sorted(self._specs)}")
        return [self._specs[n] for n in names]

    def available(self, context: Context, names: Iterable[str] | None = None) -> list[ToolSpec]:
        """The specs a model may be offered in this context: enabled toolsets, never forbidden tools."""
        return [s for s in self.specs(names) if s.safety is not SafetyLevel.FORBIDDEN
                and self._toolsets[s.toolset].status(context).enabled]

    def langchain_tools(self, names: Iterable[str] | None = None, *,
                        context: Context | None = None) -> list[dict[str, Any]]:
        """OpenAI tool definitions for `bind_tools`; with `context`, only the tools available in it."""
        specs = self.specs(names) if context is None else self.available(context, names)
        return [s.tool_definition() for s in specs]
