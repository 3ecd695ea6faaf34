"""Container logs: current or previous, tail, and a grep that cannot hang the process."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from agents.safety.validation import ContainerName, Namespace, ObjectName, ToolParams
from agents.toolsets.base import ToolEnv, ToolOutput, ToolStatus
from agents.toolsets.kubernetes.reader import cluster_reader
from agents.toolsets.kubernetes.toolset import KUBERNETES

MAX_PATTERN = 200
MAX_LINE = 4000  # longer lines are cut before matching, so a pattern never runs over megabytes
GREP_WINDOW = 5000  # lines fetched when filtering, so matches older than the tail are still found
# A quantified group that itself contains a quantifier ((a+)+, (.*)*) can backtrack exponentially.
_NESTED_QUANTIFIER = re.compile(r"\([^)]*[*+?}][^)]*\)\s*[*+?{]")
_BACKREFERENCE = re.compile(r"\\[1-9]")


class GetLogsParams(ToolParams):
    namespace: Namespace
    name: ObjectName = Field(description="Pod name.")
    container: ContainerName | None = Field(None, description="Container; required when the pod has several.")
    previous: bool = Field(False, description="The log of the previous (crashed) run of the container.")
    tail_lines: int = Field(200, ge=1, le=2000, description="Last N lines.")
    grep: str | None = Field(None, min_length=1, max_length=MAX_PATTERN,
                             description="Only lines containing this text (or matching it with grep_regex).")
    grep_regex: bool = Field(False, description="Treat grep as a regular expression.")

    @field_validator("grep")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and not value.isprintable():
            raise ValueError("grep must be printable text")
        return value


def line_matcher(pattern: str, regex: bool) -> re.Pattern[str]:
    """A compiled, case-insensitive matcher; regexes with nested quantifiers or backreferences are refused."""
    if not regex:
        return re.compile(re.escape(pattern), re.IGNORECASE)
    if _NESTED_QUANTIFIER.search(pattern) or _BACKREFERENCE.search(pattern):
        raise ValueError(f"grep pattern {pattern!r} has a nested quantifier or a backreference; simplify it")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"grep pattern {pattern!r} is not a valid regular expression: {exc}") from exc


@KUBERNETES.tool(params=GetLogsParams, kind="Pod", timeout=15, output_cap=8000, transformers=("redact", "truncate_tail"))
def get_logs(env: ToolEnv, p: GetLogsParams) -> ToolOutput:
    """A container's log, newest last: current run, or `previous=true` for the run that crashed (the stack
    trace, "Environment variable X is undefined", "No such file"). Optionally filtered with grep."""
    try:
        matcher = line_matcher(p.grep, p.grep_regex) if p.grep else None
    except ValueError as exc:
        return ToolOutput("", None, ToolStatus.ERROR, str(exc))
    text = cluster_reader(env).log(p.namespace, p.name, container=p.container, previous=p.previous,
                                   tail_lines=GREP_WINDOW if matcher else p.tail_lines)
    lines = text.splitlines()
    total = len(lines)
    if matcher:
        lines = [line for line in lines if matcher.search(line[:MAX_LINE])][-p.tail_lines:]
    which = f"{'previous' if p.previous else 'current'} log of {p.namespace}/{p.name}" + (
        f" container {p.container}" if p.container else "")
    data = {"namespace": p.namespace, "pod": p.name, "container": p.container, "previous": p.previous,
            "lines": len(lines), "grep": p.grep}
    if not lines:
        return ToolOutput("", data, ToolStatus.NO_DATA,
                          f"no lines match {p.grep!r} in the {which} ({total} lines searched)" if matcher
                          else f"the {which} is empty")
    return ToolOutput("\n".join(lines), data)
