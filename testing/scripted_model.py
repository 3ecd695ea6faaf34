"""A chat model that replays a script, so model paths run deterministically without a model.

Tests hand it the answers a model would give (content, tool calls, structured output) and
then assert what the code under test did with them and what it offered the model: every
call is recorded with its messages, tool names and token estimate. It is a real
`BaseChatModel`, so `bind_tools`, `with_structured_output`, streaming, callbacks and
LangGraph's `stream_mode="messages"` go through the same LangChain code as a real model.

    model = ScriptedChatModel([
        ScriptedTurn(tool_calls=[{"name": "get_pod", "args": {"name": "web-0"}}]),
        "The pod is OOMKilled: raise its memory limit.",
    ])
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolCall
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr, field_validator

from testing.scripted_turns import (
    ScriptedCall,
    ScriptedToolCall,
    ScriptedTurn,
    ScriptError,
    ScriptExhausted,
    StructuredMethod,
    StructuredOutputMismatch,
    StructuredRequest,
    Turn,
    UnboundToolCall,
    estimate_tokens,
    message_text,
    normalise_turn,
    parse_structured,
    schema_name,
    stream_chunks,
    structured_payload,
)

__all__ = [
    "ScriptError",
    "ScriptExhausted",
    "ScriptedCall",
    "ScriptedChatModel",
    "ScriptedToolCall",
    "ScriptedTurn",
    "StructuredOutputMismatch",
    "UnboundToolCall",
]


class ScriptedChatModel(BaseChatModel):
    """Replays `script` one turn per model call; see the module docstring."""

    script: list[Any] = Field(default_factory=list)
    model_name: str = "scripted"
    # A prefix per model keeps generated tool-call ids distinct when two scripted models
    # (say, supervisor and diagnostics) write into the same thread.
    id_prefix: str = "call"
    strict_tools: bool = False
    # A global LLM cache would answer a repeated prompt without consuming a turn.
    cache: BaseCache | bool | None = Field(default=False, exclude=True)

    _cursor: int = PrivateAttr(default=0)
    _calls: list[ScriptedCall] = PrivateAttr(default_factory=list)
    # Re-entrant so a callable turn that itself calls the model cannot deadlock the run.
    _lock: AbstractContextManager[bool] = PrivateAttr(default_factory=threading.RLock)

    def __init__(self, script: Sequence[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(script=list(script or kwargs.pop("script", [])), **kwargs)

    @field_validator("script", mode="before")
    @classmethod
    def _check_turns(cls, turns: list[Any]) -> list[Turn]:
        return [normalise_turn(t) for t in turns]

    @property
    def _llm_type(self) -> str:
        return "scripted-chat-model"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    @property
    def calls(self) -> list[ScriptedCall]:
        """Every call so far, in order (a copy, so assertions cannot disturb the run)."""
        with self._lock:
            return list(self._calls)

    @property
    def remaining(self) -> int:
        """Turns not yet played; a finished test usually asserts this is 0."""
        with self._lock:
            return len(self.script) - self._cursor

    # -- binding ---------------------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[builtins.dict[str, Any] | type | Any],
        *,
        tool_choice: str | builtins.dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer tools on every call of the returned runnable, in the OpenAI format a real model gets."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self,
        schema: builtins.dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: StructuredMethod = "function_calling",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Answer with the next turn validated into `schema` (pydantic, TypedDict or JSON schema).

        `function_calling` offers the schema as the only tool (as langchain-openai does);
        the JSON methods offer no tool and answer in the content.
        """
        del strict  # a script is always exact
        if kwargs:
            raise ValueError(f"Received unsupported arguments {kwargs}")
        request = StructuredRequest(name=schema_name(schema), method=method)
        if method == "function_calling":
            llm: Runnable = self.bind_tools([schema], tool_choice=request.name, scripted_output=request)
        else:
            llm = self.bind(response_format={"type": method}, scripted_output=request)
        parser = RunnableLambda(lambda message: parse_structured(message, schema, request))
        if not include_raw:
            return llm | parser
        with_parsed = RunnablePassthrough.assign(
            parsed=(lambda d: d["raw"]) | parser, parsing_error=lambda _: None
        )
        without = RunnablePassthrough.assign(parsed=lambda _: None)
        fallback = with_parsed.with_fallbacks(
            [without], exception_key="parsing_error", exceptions_to_handle=(StructuredOutputMismatch,)
        )
        return RunnableMap(raw=llm) | fallback

    # -- one turn ----------------------------------------------------------------------------

    def _respond(self, messages: list[BaseMessage], kwargs: builtins.dict[str, Any]) -> AIMessage:
        """Take the next turn, shape it for this call, record the call. Shared by every path."""
        tools: list[builtins.dict[str, Any]] = kwargs.get("tools") or []
        tool_names = tuple(t["function"]["name"] for t in tools)
        request: StructuredRequest | None = kwargs.get("scripted_output")
        input_tokens = estimate_tokens(messages, tools)
        # One lock around take-shape-record keeps turn order and records consistent when a
        # graph calls the model from parallel branches.
        with self._lock:
            index = self._cursor
            if index >= len(self.script):
                last = message_text(messages[-1])[:200] if messages else "<no messages>"
                kind = type(messages[-1]).__name__ if messages else ""
                raise ScriptExhausted(
                    f"{self.model_name!r} was called {index + 1} times but the script has {len(self.script)} "
                    f"turns; the last input was {kind}: {last!r}"
                )
            self._cursor += 1
            message = self._shape(index, self.script[index], messages, request)
            if self.strict_tools and request is None:
                self._check_bound(index, message, tool_names, kwargs.get("tool_choice"))
            output_tokens = estimate_tokens([message])
            message = message.model_copy(
                update={
                    "usage_metadata": message.usage_metadata
                    or {
                        "input_tokens": input_tokens,
                        "output_tokens": output_tokens,
                        "total_tokens": input_tokens + output_tokens,
                    },
                    "response_metadata": {
                        "model_name": self.model_name,
                        "finish_reason": "tool_calls" if message.tool_calls else "stop",
                        **message.response_metadata,
                    },
                }
            )
            self._calls.append(
                ScriptedCall(
                    turn=index,
                    messages=tuple(messages),
                    tools=tool_names,
                    tool_choice=kwargs.get("tool_choice"),
                    structured=request.name if request else None,
                    input_tokens=input_tokens,
                    response=message,
                )
            )
        return message

    def _shape(
        self, index: int, turn: Turn, messages: list[BaseMessage], request: StructuredRequest | None
    ) -> AIMessage:
        if callable(turn) and not isinstance(turn, AIMessage | ScriptedTurn | str):
            turn = normalise_turn(turn(list(messages)))
        structured = turn.structured if isinstance(turn, ScriptedTurn) else None
        if isinstance(turn, str):
            message = AIMessage(content=turn)
        elif isinstance(turn, ScriptedTurn):
            message = AIMessage(content=turn.content, tool_calls=[c.model_dump() for c in turn.tool_calls])
        else:
            message = turn.model_copy()  # never mutate the script: a test may reuse a message
        if request is not None:
            data = structured_payload(index, message, structured, request.name)
            if request.method == "function_calling":
                message = AIMessage(content="", tool_calls=[ToolCall(name=request.name, args=data, id=None)])
            else:
                message = AIMessage(content=json.dumps(data))
        calls = [
            {**c, "id": c.get("id") or f"{self.id_prefix}_{index}_{pos}"}
            for pos, c in enumerate(message.tool_calls)
        ]
        return message.model_copy(update={"tool_calls": calls}) if calls else message

    def _check_bound(self, index: int, message: AIMessage, offered: tuple[str, ...], choice: Any) -> None:
        allowed = () if choice == "none" else offered
        for call in message.tool_calls:
            if call["name"] not in allowed:
                raise UnboundToolCall(
                    f"scripted turn {index} calls tool {call['name']!r} but that call offered "
                    f"{list(allowed) or 'no tools'}"
                )

    # -- LangChain hooks -----------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._respond(messages, kwargs))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # No executor hop: a script answers instantly, and staying on the loop keeps order.
        return self._generate(messages, stop, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # The base class reports each chunk to callbacks (on_llm_new_token), so we only yield.
        yield from stream_chunks(self._respond(messages, kwargs))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in stream_chunks(self._respond(messages, kwargs)):
            yield chunk

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """The same estimate as `usage_metadata`, and no tokenizer download."""
        return estimate_tokens(messages, [convert_to_openai_tool(t) for t in tools or ()])

    def get_num_tokens(self, text: str) -> int:
        return estimate_tokens([AIMessage(content=text)])
