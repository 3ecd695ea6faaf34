"""A scripted model drives a real LangGraph ReAct loop: model node, ToolNode, checkpointer."""

from __future__ import annotations

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from testing.scripted_model import ScriptedChatModel, ScriptedTurn


@tool
def get_pod(name: str) -> str:
    """Read one pod's status."""
    return f"pod {name}: CrashLoopBackOff, last exit OOMKilled (limit 128Mi)"


def build_react_graph(model: ScriptedChatModel) -> CompiledStateGraph:
    bound = model.bind_tools([get_pod])

    async def think(state: MessagesState) -> dict:
        return {"messages": [await bound.ainvoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("think", think)
    graph.add_node("tools", ToolNode([get_pod]))
    graph.add_edge(START, "think")
    graph.add_conditional_edges("think", tools_condition, {"tools": "tools", END: END})
    graph.add_edge("tools", "think")
    return graph.compile(checkpointer=InMemorySaver())


def two_step_script() -> ScriptedChatModel:
    return ScriptedChatModel(
        [
            ScriptedTurn(tool_calls=[{"name": "get_pod", "args": {"name": "web-0"}}]),
            "web-0 is OOMKilled at 128Mi: raise the memory limit.",
        ]
    )


async def test_two_step_react_loop_runs_end_to_end() -> None:
    model = two_step_script()
    graph = build_react_graph(model)
    config = {"configurable": {"thread_id": "incident-42"}}

    result = await graph.ainvoke({"messages": [HumanMessage("Why is web-0 restarting?")]}, config)

    kinds = [type(m).__name__ for m in result["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    tool_message = result["messages"][2]
    assert isinstance(tool_message, ToolMessage) and tool_message.tool_call_id == "call_0_0"
    assert tool_message.content == "pod web-0: CrashLoopBackOff, last exit OOMKilled (limit 128Mi)"
    assert result["messages"][-1].content == "web-0 is OOMKilled at 128Mi: raise the memory limit."
    # The second call saw the tool result; both calls were offered the tool.
    assert model.calls[1].messages[-1].content == tool_message.content
    assert [c.tools for c in model.calls] == [("get_pod",), ("get_pod",)]
    # The checkpointer kept the thread.
    saved = await graph.aget_state(config)
    assert len(saved.values["messages"]) == 4 and saved.next == ()


async def test_stream_mode_messages_shows_tokens_from_the_model_node() -> None:
    graph = build_react_graph(two_step_script())
    config = {"configurable": {"thread_id": "chat-1"}}
    tokens: list[str] = []
    async for chunk, metadata in graph.astream(
        {"messages": [HumanMessage("Why is web-0 restarting?")]}, config, stream_mode="messages"
    ):
        if isinstance(chunk, AIMessageChunk) and metadata["langgraph_node"] == "think" and chunk.content:
            tokens.append(chunk.content)
    assert tokens[:5] == ["web-0", " ", "is", " ", "OOMKilled"]
    assert "".join(tokens) == "web-0 is OOMKilled at 128Mi: raise the memory limit."
    final = (await graph.aget_state(config)).values["messages"][-1]
    assert isinstance(final, AIMessage) and final.usage_metadata["output_tokens"] > 0
