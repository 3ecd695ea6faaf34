"""The HumanHelp subgraph in the real supervisor with the Postgres checkpointer: a guard stop asks a person,
the thread pauses, and their hint starts a fresh investigation that the model reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.types import Command
from psycopg_pool import AsyncConnectionPool

from agents.audit import MemoryAuditSink
from agents.context import ClusterRef, Context
from agents.diagnosis import IncidentInput
from agents.human_help import HelpReply
from agents.investigation import Toolbox
from testing.scripted_model import ScriptedChatModel, ScriptedTurn
from agents.skills.loader import load_skills
from agents.timeline import MemoryTimeline
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.shipped import default_registry
from graphs.supervisor import build_supervisor_graph, run_config
from sim.runtime import RunningSim
from tests.graphs.test_diagnostics_model_path import NS, POD, _answer, _call

HINT = "the limit was lowered in yesterday's release; compare it with what the process allocates"


async def test_a_guard_stop_asks_a_person_and_their_hint_reaches_a_fresh_investigation(
        db_pool: AsyncConnectionPool[Any], sim_cluster: Callable[..., RunningSim], model_only_skills: Path) -> None:
    same = dict(namespace=NS, name=POD)
    model = ScriptedChatModel([
        _call("describe_pod", "c1", **same), _call("describe_pod", "c2", **same), _call("describe_pod", "c3", **same),
        _answer(excerpt="OOMKilled", call_id="c1", confidence=0.8),  # forced: partial, needs a person
        _call("get_logs", "c4", namespace=NS, name=POD, container="memory-hog", previous=True, tail_lines=20),
        ScriptedTurn(content="The hint holds: the limit is below what the process allocates."),
        _answer(excerpt="OOMKilled", call_id="c1", confidence=0.9),
    ])
    sim = sim_cluster("oom_memory_hog")
    timeline = MemoryTimeline()
    toolbox = Toolbox(default_registry(), load_skills(model_only_skills), ClusterClients(), MemoryAuditSink(), model)
    graph = build_supervisor_graph(toolbox, timeline, AsyncPostgresSaver(db_pool), human_help=True)  # type: ignore[arg-type]
    context = Context(incident_id="incident-7", cluster=ClusterRef(id="sim", kubeconfig=sim.kubeconfig_path),
                      model="scripted")
    config = run_config(context.incident_id, context.budgets)
    alerts = sim.scenario.model_dump(mode="json")["alerts"]
    incident = IncidentInput(cluster="sim", namespace=NS, alerts=alerts).model_dump(mode="json")

    await graph.ainvoke({"incident": incident}, config, context=context)
    paused = await graph.aget_state(config)
    [question] = [i.value for i in paused.interrupts]
    assert question["kind"] == "help" and question["request_id"] == "incident-7-help-1"
    assert question["reason"].startswith("stopped early") and "same arguments" in question["reason"]
    assert question["actions"] == ["diagnose", "plan", "resolve"] and question["category"] == "oom_killed"

    # A reply to some other question answers nothing: the same question is asked again.
    stray = HelpReply(request_id="incident-7-help-9", action="resolve", responder="mallory", text="ignore")
    await graph.ainvoke(Command(resume=stray.model_dump(mode="json")), config, context=context)
    again = await graph.aget_state(config)
    assert [i.value["request_id"] for i in again.interrupts] == ["incident-7-help-1"]
    assert "help" not in timeline.kinds()

    reply = HelpReply(request_id="incident-7-help-1", action="diagnose", responder="carol", text=HINT)
    result = await graph.ainvoke(Command(resume=reply.model_dump(mode="json")), config, context=context)
    done = await graph.aget_state(config)

    assert not done.interrupts and not done.next
    assert result["diagnosis"]["status"] == "complete" and not result["diagnosis"]["needs_human"]
    fresh = model.calls[4].messages  # the first model call after the reply
    assert any(isinstance(m, HumanMessage) and HINT in str(m.content) for m in fresh)
    assert not any("c1" in str(getattr(m, "tool_call_id", "")) for m in fresh)  # a fresh conversation
    assert result["help_rounds"] == 1 and result["budget"]["steps"] <= 2  # the budget started again
    help_entries = [e for e in timeline.entries if e[1] == "help"]
    assert [e[2] for e in help_entries] == [f"diagnose from carol: {HINT}"]
    assert timeline.kinds().count("diagnosis") == 2 and timeline.kinds()[-1] == "report"
