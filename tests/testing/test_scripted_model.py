"""The scripted chat model replays exactly what it is given, through every LangChain path."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from testing.scripted_model import (
    ScriptedChatModel,
    ScriptedTurn,
    ScriptError,
    ScriptExhausted,
    StructuredOutputMismatch,
    UnboundToolCall,
)


@tool
def get_pod(name: str, namespace: str = "default") -> str:
    """Read one pod's status."""
    return f"pod {namespace}/{name}: CrashLoopBackOff, last exit OOMKilled"


@tool
def get_events(namespace: str) -> str:
    """List recent events in a namespace."""
    return f"events in {namespace}: BackOff restarting failed container"


class Route(BaseModel):
    agent: str
    confidence: float = Field(ge=0, le=1)


class RouteDict(TypedDict):
    agent: str
    confidence: float


ROUTE_JSON_SCHEMA: dict[str, Any] = {
    "title": "Route",
    "description": "Which specialist answers.",
    "type": "object",
    "properties": {"agent": {"type": "string"}, "confidence": {"type": "number", "maximum": 1}},
    "required": ["agent", "confidence"],
}


# -- turns and tool calls ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("turn", "content", "tool_calls"),
    [
        pytest.param("plain answer", "plain answer", [], id="str"),
        pytest.param(AIMessage(content="from a message"), "from a message", [], id="ai-message"),
        pytest.param(
            ScriptedTurn(tool_calls=[{"name": "get_pod", "args": {"name": "web-0"}}]),
            "",
            [{"name": "get_pod", "args": {"name": "web-0"}, "id": "call_0_0"}],
            id="scripted-turn-generated-id",
        ),
        pytest.param(
            {"content": "looking", "tool_calls": [{"name": "get_pod", "args": {"name": "a"}, "id": "mine"}]},
            "looking",
            [{"name": "get_pod", "args": {"name": "a"}, "id": "mine"}],
            id="dict-keeps-given-id",
        ),
        pytest.param(
            lambda msgs: f"you said {msgs[-1].content}", "you said hello", [], id="callable-sees-messages"
        ),
    ],
)
def test_each_turn_kind_becomes_an_ai_message(turn: Any, content: str, tool_calls: list[dict]) -> None:
    answer = ScriptedChatModel([turn]).bind_tools([get_pod]).invoke("hello")
    assert answer.content == content
    assert [{k: c[k] for k in ("name", "args", "id")} for c in answer.tool_calls] == tool_calls


def test_react_sequence_records_tools_offered_per_step() -> None:
    model = ScriptedChatModel(
        [
            ScriptedTurn(tool_calls=[{"name": "get_pod", "args": {"name": "web-0", "namespace": "shop"}}]),
            ScriptedTurn(
                content="Checking events too.",
                tool_calls=[{"name": "get_events", "args": {"namespace": "shop"}}],
            ),
            "web-0 is OOMKilled: raise its memory limit.",
        ],
        id_prefix="diag",
    )
    history: list[BaseMessage] = [HumanMessage("Why is web-0 restarting?")]
    for step in range(3):
        # The last allowed step offers no tools, as the loop guard does.
        runnable = model.bind_tools([get_pod, get_events]) if step < 2 else model
        answer = runnable.invoke(history)
        history.append(answer)
        for call in answer.tool_calls:
            result = {"get_pod": get_pod, "get_events": get_events}[call["name"]].invoke(call["args"])
            history.append(ToolMessage(result, tool_call_id=call["id"]))

    assert [c.tools for c in model.calls] == [("get_pod", "get_events"), ("get_pod", "get_events"), ()]
    assert [m.tool_call_id for m in history if isinstance(m, ToolMessage)] == ["diag_0_0", "diag_1_0"]
    assert history[-1].content == "web-0 is OOMKilled: raise its memory limit."
    assert isinstance(model.calls[2].messages[-1], ToolMessage)
    assert model.calls[2].messages[-1].content == "events in shop: BackOff restarting failed container"
    assert model.remaining == 0


def test_reused_message_gets_fresh_ids_and_script_is_not_mutated() -> None:
    same = AIMessage(content="", tool_calls=[{"name": "get_pod", "args": {"name": "a"}, "id": None}])
    model = ScriptedChatModel([same, same])
    ids = [model.invoke("x").tool_calls[0]["id"] for _ in range(2)]
    assert ids == ["call_0_0", "call_1_0"]
    assert same.tool_calls[0]["id"] is None and same.usage_metadata is None


# -- structured output -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
@pytest.mark.parametrize(
    ("schema", "name", "expected"),
    [
        pytest.param(Route, "Route", Route(agent="diagnostics", confidence=0.8), id="pydantic"),
        pytest.param(RouteDict, "RouteDict", {"agent": "diagnostics", "confidence": 0.8}, id="typeddict"),
        pytest.param(
            ROUTE_JSON_SCHEMA, "Route", {"agent": "diagnostics", "confidence": 0.8}, id="json-schema"
        ),
    ],
)
@pytest.mark.parametrize(
    "turn",
    [
        pytest.param(ScriptedTurn(structured={"agent": "diagnostics", "confidence": 0.8}), id="structured"),
        pytest.param('{"agent": "diagnostics", "confidence": 0.8}', id="json-content"),
        pytest.param(
            ScriptedTurn(
                tool_calls=[{"name": "whatever", "args": {"agent": "diagnostics", "confidence": 0.8}}]
            ),
            id="single-tool-call",
        ),
    ],
)
def test_structured_output_validates_into_the_schema(
    schema: Any, name: str, expected: Any, turn: Any, method: str
) -> None:
    model = ScriptedChatModel([turn])
    assert model.with_structured_output(schema, method=method).invoke("route this alert") == expected
    (call,) = model.calls
    assert call.structured == name
    # function_calling offers the schema as the one tool; the JSON methods offer none.
    assert call.tools == ((name,) if method == "function_calling" else ())


@pytest.mark.parametrize(
    ("schema", "message_part"),
    [
        pytest.param(Route, "confidence", id="pydantic"),
        pytest.param(ROUTE_JSON_SCHEMA, "at confidence", id="json-schema"),
    ],
)
def test_structured_output_that_does_not_validate_raises_clearly(schema: Any, message_part: str) -> None:
    bad = ScriptedTurn(structured={"agent": "qa", "confidence": 7})
    with pytest.raises(StructuredOutputMismatch, match="does not match 'Route'") as err:
        ScriptedChatModel([bad]).with_structured_output(schema).invoke("route")
    assert message_part in str(err.value)

    raw = ScriptedChatModel([bad]).with_structured_output(schema, include_raw=True).invoke("route")
    assert raw["parsed"] is None
    assert isinstance(raw["parsing_error"], StructuredOutputMismatch)
    assert raw["raw"].tool_calls[0]["args"] == {"agent": "qa", "confidence": 7}


def test_structured_output_without_a_payload_names_the_turn() -> None:
    with pytest.raises(ScriptError, match="scripted turn 0 was asked for structured output 'Route'"):
        ScriptedChatModel(["not json"]).with_structured_output(Route).invoke("route")


# -- streaming -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "tokens"),
    [
        pytest.param(
            "Pod web-0 is OOMKilled.", ["Pod", " ", "web-0", " ", "is", " ", "OOMKilled."], id="words"
        ),
        pytest.param("a  b\nc", ["a", "  ", "b", "\n", "c"], id="runs-of-whitespace"),
        pytest.param("", [], id="empty"),
    ],
)
def test_stream_yields_tokens_that_reassemble(content: str, tokens: list[str]) -> None:
    chunks = list(ScriptedChatModel([content]).stream("explain"))
    assert [c.content for c in chunks if c.content] == tokens
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.content == content
    assert merged.usage_metadata is not None and merged.response_metadata["model_name"] == "scripted"


def test_stream_tool_call_chunks_reassemble_into_the_call() -> None:
    args = {"name": "web-0", "namespace": "shop"}
    model = ScriptedChatModel(
        [ScriptedTurn(content="Looking.", tool_calls=[{"name": "get_pod", "args": args}])]
    )
    chunks = list(model.bind_tools([get_pod]).stream("why"))
    pieces = [c.tool_call_chunks[0] for c in chunks if c.tool_call_chunks]
    assert len(pieces) > 1 and pieces[0]["name"] == "get_pod" and pieces[1]["name"] is None
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.content == "Looking."
    assert merged.tool_calls == [{"name": "get_pod", "args": args, "id": "call_0_0", "type": "tool_call"}]


async def test_async_invoke_and_stream() -> None:
    model = ScriptedChatModel(["first answer", "second answer here"])
    assert (await model.ainvoke("one")).content == "first answer"
    tokens = [c.content async for c in model.astream("two") if c.content]
    assert tokens == ["second", " ", "answer", " ", "here"]
    assert [c.turn for c in model.calls] == [0, 1]


async def test_astream_events_shows_each_token() -> None:
    model = ScriptedChatModel(["one two three"])
    tokens = [
        e["data"]["chunk"].content
        async for e in model.astream_events("count", version="v2")
        if e["event"] == "on_chat_model_stream" and e["data"]["chunk"].content
    ]
    assert tokens == ["one", " ", "two", " ", "three"]


# -- usage, records, errors ---------------------------------------------------------------------


def test_usage_metadata_is_deterministic_and_grows_with_prompt_and_tools() -> None:
    model = ScriptedChatModel(["ok"] * 4)
    short = model.invoke("hi").usage_metadata
    long = model.invoke([SystemMessage("You are a careful SRE. " * 20), HumanMessage("hi")]).usage_metadata
    with_tools = model.bind_tools([get_pod, get_events]).invoke("hi").usage_metadata
    assert short == {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
    assert long["input_tokens"] == 116 > short["input_tokens"]
    assert with_tools["input_tokens"] > short["input_tokens"]
    assert [c.input_tokens for c in model.calls] == [1, 116, with_tools["input_tokens"]]
    assert (
        model.get_num_tokens_from_messages([HumanMessage("hi")], tools=[get_pod, get_events])
        == (with_tools["input_tokens"])
    )


def test_scripted_usage_metadata_is_kept() -> None:
    usage = {"input_tokens": 5000, "output_tokens": 900, "total_tokens": 5900}
    answer = ScriptedChatModel([AIMessage(content="big", usage_metadata=usage)]).invoke("x")
    assert answer.usage_metadata == usage
    assert answer.response_metadata["model_name"] == "scripted"


def test_running_past_the_script_raises_script_exhausted() -> None:
    model = ScriptedChatModel(["only answer"], model_name="diagnostics")
    model.invoke("first")
    with pytest.raises(ScriptExhausted) as err:
        model.invoke([HumanMessage("first"), AIMessage("only answer"), HumanMessage("and the events?")])
    assert str(err.value) == (
        "'diagnostics' was called 2 times but the script has 1 turns; "
        "the last input was HumanMessage: 'and the events?'"
    )


@pytest.mark.parametrize(
    ("bind", "error"),
    [
        pytest.param({"tools": [get_events]}, "offered ['get_events']", id="tool-not-bound"),
        pytest.param({"tools": [get_pod], "tool_choice": "none"}, "offered no tools", id="tool-choice-none"),
        pytest.param(None, "offered no tools", id="no-bind"),
        pytest.param({"tools": [get_pod]}, None, id="bound-is-fine"),
    ],
)
def test_strict_tools_refuses_calls_to_tools_not_offered(bind: dict | None, error: str | None) -> None:
    turn = ScriptedTurn(tool_calls=[{"name": "get_pod", "args": {"name": "a"}}])
    model = ScriptedChatModel([turn], strict_tools=True)
    runnable = model.bind_tools(**bind) if bind else model
    if error is None:
        assert runnable.invoke("x").tool_calls[0]["name"] == "get_pod"
        return
    expected = f"scripted turn 0 calls tool 'get_pod' but that call {error}"
    with pytest.raises(UnboundToolCall, match=re.escape(expected)):
        runnable.invoke("x")


def test_unknown_turn_kind_is_refused_at_construction() -> None:
    with pytest.raises(TypeError, match="got int"):
        ScriptedChatModel([42])


def test_json_content_round_trips_through_calls_record() -> None:
    model = ScriptedChatModel([ScriptedTurn(structured={"agent": "qa", "confidence": 0.2})])
    model.with_structured_output(Route, method="json_mode").invoke("route")
    assert json.loads(model.calls[0].response.content) == {"agent": "qa", "confidence": 0.2}
