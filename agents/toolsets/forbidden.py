"""Forbidden tools, registered so that a model asking for them gets an explicit refusal it can read
("delete_resource is forbidden for every agent") instead of "unknown tool", which invites retries
under other names. They are never offered to a model and their functions never run."""

from __future__ import annotations

from pydantic import Field

from agents.safety.levels import SafetyLevel
from agents.safety.validation import ContainerName, KindName, Namespace, ObjectName, ToolParams
from agents.toolsets.base import ToolEnv, ToolFailure, ToolOutput, ToolStatus
from agents.toolsets.registry import Toolset

FORBIDDEN = Toolset(
    name="forbidden",
    description="Destructive or secret-revealing actions no agent may take: deleting objects, exec into "
                "pods, reading Secret values.",
    offered=False,
)


def _never(env: ToolEnv, params: object) -> ToolOutput:
    raise ToolFailure("refused: forbidden tools never run", status=ToolStatus.REFUSED)


class DeleteResourceParams(ToolParams):
    kind: KindName
    namespace: Namespace | None = None
    name: ObjectName


class ExecInPodParams(ToolParams):
    namespace: Namespace
    name: ObjectName
    container: ContainerName | None = None
    command: list[str] = Field(max_length=50)


class ReadSecretValuesParams(ToolParams):
    namespace: Namespace
    name: ObjectName


for _name, _params, _what in (
        ("delete_resource", DeleteResourceParams, "Delete an object from the cluster."),
        ("exec_in_pod", ExecInPodParams, "Run a command inside a container."),
        ("read_secret_values", ReadSecretValuesParams, "Read the decoded values of a Secret.")):
    _never.__doc__ = f"{_what} Forbidden: always refused."
    FORBIDDEN.tool(params=_params, safety=SafetyLevel.FORBIDDEN, name=_name, timeout=1, output_cap=200)(_never)
