"""Issue 6: a plan that fails its checks goes back to the model (bounded), and with dry runs on the
cluster's own verdict is one of those checks. The remediation subgraph runs as the supervisor runs it
(a node of a parent graph with the Postgres checkpointer), against real git and the simulated cluster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, StateGraph
from psycopg_pool import AsyncConnectionPool

from agents.audit import MemoryAuditSink
from agents.context import ClusterRef, Context
from agents.diagnosis import Diagnosis, ResourceRef, SuggestedFix
from testing.scripted_model import ScriptedChatModel, ScriptedTurn
from agents.remediation import RemediationSetup
from agents.timeline import MemoryTimeline
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.kubernetes.dry_run import ServerDryRun
from graphs.remediation import build_remediation_graph
from graphs.state import State
from sim.runtime import RunningSim
from tests.support.gitops import seed_bare_repo

WORKLOAD = ResourceRef(kind="Deployment", namespace="default", name="memory-hog")
LIMIT = "spec.template.spec.containers[name=memory-hog].resources.limits.memory"
SELECTOR = "spec.selector.matchLabels.app"


class NoPullRequests:
    async def open(self, **_: Any) -> Any:
        raise AssertionError("nothing is approved in these tests")


def diagnosis_setting(field_path: str, value: Any) -> Diagnosis:
    return Diagnosis(category="oom_killed", root_cause="memory-hog is OOMKilled at its 100Mi limit", confidence=0.9,
                     affected=[WORKLOAD], source="rules", status="complete",
                     suggested_fixes=[SuggestedFix(resource=WORKLOAD, field_path=field_path, new_value=value,
                                                   rationale="raise the limit above the observed peak")])


def corrected(value: str) -> ScriptedTurn:
    return ScriptedTurn(structured={"fixes": [{"resource": WORKLOAD.model_dump(), "field_path": LIMIT,
                                               "new_value": value, "rationale": "a valid quantity above the peak"}]})


@dataclass
class Run:
    graph: Any
    timeline: MemoryTimeline
    audit: MemoryAuditSink
    sim: RunningSim
    context: Context

    async def plan(self, diagnosis: Diagnosis) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Run remediation up to the approval gate: (final state, the pending approval request or None)."""
        config = {"configurable": {"thread_id": "t-1"}}
        await self.graph.ainvoke({"diagnosis": diagnosis.model_dump(mode="json")}, config, context=self.context)
        snapshot = await self.graph.aget_state(config)
        return snapshot.values, (snapshot.interrupts[0].value if snapshot.interrupts else None)


@pytest.fixture
def remediation(db_pool: AsyncConnectionPool[Any], sim_cluster: Callable[..., RunningSim],
                tmp_path: Path) -> Callable[..., Run]:
    def build(model: ScriptedChatModel | None = None, *, dry_run: bool = False) -> Run:
        sim = sim_cluster("oom_memory_hog")
        audit, timeline = MemoryAuditSink(), MemoryTimeline()
        setup = RemediationSetup(repo_url=seed_bare_repo(sim.scenario.gitops.files, tmp_path / "gitops.git"),
                                 work_root=tmp_path / "clones", opener=NoPullRequests(), model=model,
                                 dry_run=ServerDryRun(ClusterClients(), audit) if dry_run else None)
        parent = StateGraph(State, context_schema=Context)
        parent.add_node("remediation", build_remediation_graph(setup, timeline))
        parent.add_edge(START, "remediation")
        graph = parent.compile(checkpointer=AsyncPostgresSaver(db_pool))  # type: ignore[arg-type]
        context = Context(incident_id="7", cluster=ClusterRef(id="sim", kubeconfig=sim.kubeconfig_path))
        return Run(graph, timeline, audit, sim, context)

    return build


@pytest.mark.parametrize(("field_path", "bad", "problem"), [
    pytest.param(LIMIT, "lots", "limit memory 'lots' is not a Kubernetes quantity", id="memory-not-a-quantity"),
    pytest.param("spec.template.spec.containers[name=memory-hog].image", "polinux/stress:latest",
                 "pin a version instead of :latest", id="image-latest"),
])
async def test_a_failing_plan_is_corrected_by_the_model_and_awaits_approval(
        remediation: Callable[..., Run], field_path: str, bad: str, problem: str) -> None:
    model = ScriptedChatModel([corrected("256Mi")])
    run = remediation(model)
    state, request = await run.plan(diagnosis_setting(field_path, bad))

    assert model.remaining == 0
    [call] = model.calls
    assert call.structured == "CorrectedFixes"
    asked = call.messages[0].content
    assert problem in asked and f"{field_path} = \"{bad}\"" in asked and "<check_output>" in asked
    assert request is not None and state.get("escalation") is None
    assert [(s["object_field"], s["new_value"]) for s in request["steps"]][0] == (LIMIT, "256Mi")
    assert bad not in request["diff"].split("\n+", 1)[1]
    messages = [message for _, kind, message, _ in run.timeline.entries if kind == "plan"]
    assert "asking the model for corrected values (attempt 1 of 2)" in messages[0]
    assert messages[-1].endswith("awaiting approval")


async def test_a_model_that_keeps_failing_escalates_after_two_attempts_naming_the_problems(
        remediation: Callable[..., Run]) -> None:
    model = ScriptedChatModel([corrected("plenty"), corrected("even more")])
    run = remediation(model)
    state, request = await run.plan(diagnosis_setting(LIMIT, "lots"))

    assert request is None and model.remaining == 0 and len(model.calls) == 2
    reason = state["escalation"]["reason"]
    assert reason.startswith("the planned change still does not validate after 2 correction(s) by the model: ")
    for value in ("'lots'", "'plenty'", "'even more'"):
        assert f"limit memory {value} is not a Kubernetes quantity" in reason
    assert "'plenty'" in model.calls[1].messages[0].content  # the second ask quotes the second problem


async def test_without_a_model_a_failing_plan_escalates_at_once(remediation: Callable[..., Run]) -> None:
    run = remediation(None)
    state, request = await run.plan(diagnosis_setting(LIMIT, "lots"))
    assert request is None
    assert state["escalation"]["reason"].startswith("the planned change does not validate: ")
    assert "'lots' is not a Kubernetes quantity" in state["escalation"]["reason"]


async def test_dry_run_catches_an_immutable_field_the_schema_check_misses(remediation: Callable[..., Run]) -> None:
    run = remediation(None, dry_run=True)
    before = run.sim.store.get("Deployment", "default", "memory-hog")
    state, request = await run.plan(diagnosis_setting(SELECTOR, "other"))

    assert request is None
    reason = state["escalation"]["reason"]
    assert "the cluster rejected a server-side dry run" in reason and "spec.selector" in reason
    assert "field is immutable" in reason
    [row] = [r for r in run.audit.rows if r.tool == "dry_run_apply"]
    assert (row.agent, row.status, row.args["dryRun"]) == ("remediation", "error", "All")
    assert run.sim.store.get("Deployment", "default", "memory-hog") == before  # nothing was written


async def test_dry_run_rejection_is_fed_to_the_model_which_corrects_the_fix(remediation: Callable[..., Run]) -> None:
    model = ScriptedChatModel([corrected("256Mi")])
    run = remediation(model, dry_run=True)
    _, request = await run.plan(diagnosis_setting(SELECTOR, "other"))

    assert "field is immutable" in model.calls[0].messages[0].content
    assert request is not None and request["steps"][0]["object_field"] == LIMIT
    assert [r.status for r in run.audit.rows if r.tool == "dry_run_apply"] == ["error", "ok"]


async def test_dry_run_off_makes_no_call_to_the_cluster_at_all(remediation: Callable[..., Run]) -> None:
    run = remediation(None, dry_run=False)
    before = run.sim.store.get("Deployment", "default", "memory-hog")
    _, request = await run.plan(diagnosis_setting(LIMIT, "256Mi"))
    assert request is not None
    assert run.audit.rows == []
    assert run.sim.store.get("Deployment", "default", "memory-hog") == before
