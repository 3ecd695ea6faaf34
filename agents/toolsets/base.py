"""A tool is one declaration: `ToolSpec`. The same spec feeds the model's tool list (JSON schema from
`params`), argument validation, the safety policy, the audit row and the rule engine.

A tool function is `fn(env: ToolEnv, params) -> ToolOutput` (sync functions run in a thread). It returns
what it found; the executor turns that into the `ToolResult` envelope, after redaction and truncation.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agents.context import Context
from agents.safety.levels import SafetyLevel
from agents.toolsets.failure import ToolFailure, ToolStatus

if TYPE_CHECKING:
    from langchain_core.messages import ToolMessage

    from agents.knowledge.search import KnowledgeSearch
    from agents.toolsets.kubernetes.clients import ClusterClients

__all__ = ["SafetyLevel", "ToolEnv", "ToolFailure", "ToolOutput", "ToolResult", "ToolSpec", "ToolStatus"]


@dataclass(frozen=True)
class ToolEnv:
    """What a tool function may use: the run's context, the cluster client factory and the knowledge base."""

    context: Context
    clients: ClusterClients
    timeout_seconds: float
    knowledge: KnowledgeSearch | None = None


@dataclass(frozen=True)
class ToolOutput:
    """What a tool function returns: text for the model and the rules, and the structured form."""

    text: str
    data: Any = None
    status: ToolStatus = ToolStatus.OK
    message: str = ""


ToolFn = Callable[[ToolEnv, Any], ToolOutput | Awaitable[ToolOutput]]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str  # for the model: what it returns and when to use it
    params: type[BaseModel]  # the JSON schema, and the validator of the model's arguments
    safety: SafetyLevel
    timeout_seconds: float
    output_cap: int  # characters of text the model sees at most
    transformers: tuple[str, ...]  # names from agents/toolsets/transformers.py; "redact" always runs
    toolset: str
    fn: ToolFn = field(repr=False)
    # The Kubernetes kind its `name` argument names ("Pod"): the hallucination guard checks that object
    # exists before the call. None: the tool has no such argument, or takes a `kind` argument instead.
    kind: str | None = None

    def tool_definition(self) -> dict[str, Any]:
        """The OpenAI tool definition (what `bind_tools` sends to the model)."""
        schema = self.params.model_json_schema()
        schema.pop("title", None)
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": schema}}


# Text that could close or open our data envelope is neutralised inside it.
_DELIMITER = re.compile(r"<(\s*/?\s*tool_output)", re.IGNORECASE)
_ATTR_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")


class ToolResult(BaseModel):
    """The envelope every call returns; failures are data for the model, never raised into the loop."""

    call_id: str
    tool: str
    args: dict[str, Any]  # as validated (redacted); the raw arguments when validation failed
    status: ToolStatus
    text: str = ""  # what the model and the rules see: redacted, capped, says what was cut
    data: Any = None  # the structured form, redacted; may be None
    message: str = ""  # one sentence on errors and refusals, fed back to the model
    duration_ms: float = 0.0
    bytes: int = 0  # size of the tool's raw text before truncation
    truncated: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)  # e.g. {"cluster": id}; never shown to a model

    @property
    def ok(self) -> bool:
        return self.status is ToolStatus.OK

    def as_model_content(self) -> str:
        """The result as quoted data for the model: inside `<tool_output>` delimiters that nothing in the
        output can close, so instructions found in logs, names or events stay data."""
        body = self.text if self.status in (ToolStatus.OK, ToolStatus.NO_DATA) else ""
        if self.message:
            body = f"{self.message}\n{body}" if body else self.message
        body = _DELIMITER.sub(r"&lt;\1", body)
        attrs = (f'tool="{_ATTR_UNSAFE.sub("_", self.tool)}" call_id="{_ATTR_UNSAFE.sub("_", self.call_id)}" '
                 f'status="{self.status.value}"')
        return f"<tool_output {attrs}>\n{body}\n</tool_output>"

    def as_tool_message(self) -> ToolMessage:
        """A LangChain ToolMessage answering the model's tool call with this result as quoted data."""
        from langchain_core.messages import ToolMessage

        return ToolMessage(content=self.as_model_content(), tool_call_id=self.call_id, name=self.tool,
                           status="success" if self.status in (ToolStatus.OK, ToolStatus.NO_DATA) else "error")
