"""What a scripted chat model replays, and how a turn goes out (streamed, structured, counted).

Kept apart from `scripted.py` so the model module holds only the LangChain plumbing:
this one holds the script's data shapes, the errors a broken script raises, the token
estimate, the streaming split and the schema validation used by `with_structured_output`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from typing_extensions import is_typeddict

StructuredMethod = Literal["function_calling", "json_schema", "json_mode"]


class ScriptError(RuntimeError):
    """The script does not fit the call the code under test made (a test-authoring error)."""


class ScriptExhausted(ScriptError):
    """The code under test called the model more often than the script has turns."""


class UnboundToolCall(ScriptError):
    """`strict_tools=True` and a scripted turn calls a tool that was not offered on that call."""


class StructuredOutputMismatch(ValueError):
    """A scripted structured answer does not validate against the requested schema.

    A `ValueError` so `with_structured_output(include_raw=True)` reports it as
    `parsing_error`, the way a real model's malformed answer is reported.
    """


class ScriptedToolCall(BaseModel):
    """One tool call in a `ScriptedTurn`; the id is generated when left out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


class ScriptedTurn(BaseModel):
    """One model answer, written the short way.

    `structured` is the answer to a `with_structured_output` call; the model turns it
    into a tool call (or JSON content) shaped the way the requested method expects.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    content: str = ""
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    structured: dict[str, Any] | None = None


# What a script may hold. A callable sees the messages of the call and answers adaptively.
Turn = AIMessage | ScriptedTurn | str | Callable[[list[BaseMessage]], "AIMessage | ScriptedTurn | str"]


@dataclass(frozen=True)
class StructuredRequest:
    """Bound on the runnable `with_structured_output` returns, read back by the model."""

    name: str
    method: StructuredMethod


@dataclass(frozen=True)
class ScriptedCall:
    """One call the code under test made, kept for assertions."""

    turn: int
    messages: tuple[BaseMessage, ...]
    tools: tuple[str, ...]
    tool_choice: Any
    structured: str | None
    input_tokens: int
    response: AIMessage


def normalise_turn(turn: Any) -> Turn:
    """Accept the documented turn kinds (and a dict for a `ScriptedTurn`); refuse the rest early."""
    if isinstance(turn, dict):
        return ScriptedTurn.model_validate(turn)
    if isinstance(turn, AIMessage | ScriptedTurn | str) or callable(turn):
        return turn
    raise TypeError(
        f"a scripted turn must be an AIMessage, ScriptedTurn, dict, str or callable, got {type(turn).__name__}"
    )


def message_text(message: BaseMessage) -> str:
    """The text a real tokenizer would see: content plus any tool calls the message carries."""
    text = message.content if isinstance(message.content, str) else json.dumps(message.content)
    if isinstance(message, AIMessage) and message.tool_calls:
        text += json.dumps([{"name": c["name"], "args": c["args"]} for c in message.tool_calls])
    return text


def estimate_tokens(messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]] = ()) -> int:
    """Characters / 4, rounded up: deterministic, and grows with the prompt and the tool list."""
    chars = sum(len(message_text(m)) for m in messages)
    chars += sum(len(json.dumps(t, sort_keys=True)) for t in tools)
    return math.ceil(chars / 4)


def schema_name(schema: dict[str, Any] | type) -> str:
    """The tool/function name a provider would use for the schema."""
    return str(convert_to_openai_tool(schema)["function"]["name"])


def structured_payload(turn: int, message: AIMessage, structured: dict[str, Any] | None, name: str) -> dict:
    """The data a scripted turn gives as structured output: `structured`, one tool call, or JSON content."""
    if structured is not None:
        return structured
    if len(message.tool_calls) == 1:
        return dict(message.tool_calls[0]["args"])
    if isinstance(message.content, str) and message.content.strip():
        try:
            data = json.loads(message.content)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            return data
    raise ScriptError(
        f"scripted turn {turn} was asked for structured output {name!r} but has no `structured` dict, "
        "no single tool call and no JSON object as content"
    )


def parse_structured(message: AIMessage, schema: dict[str, Any] | type, request: StructuredRequest) -> Any:
    """Read the answer back out of the message and validate it into the schema."""
    if request.method == "function_calling":
        calls = [c for c in message.tool_calls if c["name"] == request.name] or message.tool_calls
        if not calls:
            raise StructuredOutputMismatch(f"the answer for {request.name!r} carries no tool call")
        data: Any = calls[0]["args"]
    else:
        try:
            data = json.loads(message.text)
        except json.JSONDecodeError as err:
            raise StructuredOutputMismatch(f"the answer for {request.name!r} is not JSON: {err}") from err
    return validate_structured(schema, data, request.name)


def validate_structured(schema: dict[str, Any] | type, data: Any, name: str) -> Any:
    """Pydantic model -> instance; TypedDict or JSON schema -> the dict, checked."""
    try:
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            return schema.model_validate(data)
        if is_typeddict(schema):
            try:
                return TypeAdapter(schema).validate_python(data)
            except PydanticUserError:
                # typing.TypedDict on Python < 3.12 is refused by pydantic; check the keys at least.
                _require_keys(data, getattr(schema, "__required_keys__", frozenset()), name)
                return data
        _check_json_schema(convert_to_openai_tool(schema)["function"]["parameters"], data, name)
        return data
    except PydanticValidationError as err:
        raise StructuredOutputMismatch(f"scripted structured output does not match {name!r}: {err}") from err


def _check_json_schema(parameters: dict[str, Any], data: Any, name: str) -> None:
    try:
        import jsonschema  # only in the test extra; the service never needs it
    except ImportError:
        _require_keys(data, parameters.get("required", ()), name)
        return
    try:
        jsonschema.validate(data, parameters)
    except jsonschema.ValidationError as err:
        where = ".".join(str(p) for p in err.absolute_path) or "<root>"
        raise StructuredOutputMismatch(
            f"scripted structured output does not match {name!r} at {where}: {err.message}"
        ) from err


def _require_keys(data: Any, required: Any, name: str) -> None:
    if not isinstance(data, dict):
        raise StructuredOutputMismatch(f"scripted structured output for {name!r} is not an object: {data!r}")
    missing = sorted(set(required) - set(data))
    if missing:
        raise StructuredOutputMismatch(f"scripted structured output for {name!r} lacks {missing}")


# Splitting on whitespace but keeping it means the streamed tokens join back to the content.
_TOKEN_SPLIT = re.compile(r"(\s+)")
_ARGS_SPLIT = re.compile(r"(,)")


def stream_chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
    """Token-by-token content, then each tool call's arguments in pieces, then usage on the last chunk."""
    if isinstance(message.content, str):
        for token in _TOKEN_SPLIT.split(message.content):
            if token:
                yield ChatGenerationChunk(message=AIMessageChunk(content=token, id=message.id))
    elif message.content:
        yield ChatGenerationChunk(message=AIMessageChunk(content=message.content, id=message.id))
    for index, call in enumerate(message.tool_calls):
        for piece_no, piece in enumerate(p for p in _ARGS_SPLIT.split(json.dumps(call["args"])) if p):
            first = piece_no == 0
            part = tool_call_chunk(
                name=call["name"] if first else None,
                args=piece,
                id=call["id"] if first else None,
                index=index,
            )
            yield ChatGenerationChunk(
                message=AIMessageChunk(content="", tool_call_chunks=[part], id=message.id)
            )
    # Usage and metadata once, on the last chunk: chunk addition sums usage and concatenates strings.
    yield ChatGenerationChunk(
        message=AIMessageChunk(
            content="",
            id=message.id,
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
            chunk_position="last",
        )
    )
