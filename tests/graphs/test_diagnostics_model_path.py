"""The model path of the diagnostics graph, driven by a scripted model against a real sim and a real
Postgres checkpointer: ReAct trajectories, refusals, corrections, guards and the evidence check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import ToolMessage

from agents.context import Budgets
from testing.scripted_model import ScriptedChatModel, ScriptedTurn
from tests.graphs.conftest import Harness

NS, POD, CONTAINER = "default", "memory-hog-5cdd5d989-6pfx8", "memory-hog"
OOM_CAUSE = "memory-hog is OOMKilled: stress allocates 200M against a 100Mi limit"


def _call(tool: str, call_id: str, **args: Any) -> ScriptedTurn:
    return ScriptedTurn(tool_calls=[{"name": tool, "args": args, "id": call_id}])


def _answer(*, excerpt: str, call_id: str, tool: str = "describe_pod", confidence: float = 0.9,
            category: str = "oom_killed") -> ScriptedTurn:
    return ScriptedTurn(structured={
        "category": category, "root_cause": OOM_CAUSE, "confidence": confidence,
        "evidence": [{"call_id": call_id, "tool": tool, "excerpt": excerpt}],
        "affected": [{"kind": "Deployment", "namespace": NS, "name": "memory-hog"}],
        "suggested_fixes": [{"resource": {"kind": "Deployment", "namespace": NS, "name": "memory-hog"},
                             "field_path": "spec.template.spec.containers[name=memory-hog].resources.limits.memory",
                             "new_value": "256Mi", "rationale": "above the 200M the process allocates"}],
    })


def _model_calls(run: Harness) -> list[Any]:
    """Audit rows of the model's own calls (the rule engine's calls come first, as rules-N)."""
    return [row for row in run.audit.rows if not row.call_id.startswith("rules-")]


def _tool_messages(model: ScriptedChatModel, call: int) -> list[ToolMessage]:
    return [m for m in model.calls[call].messages if isinstance(m, ToolMessage)]


async def test_react_trajectory_reaches_a_correct_diagnosis(
        harness: Callable[..., Harness], model_only_skills: Path) -> None:
    model = ScriptedChatModel([
        _call("describe_pod", "c1", namespace=NS, name=POD),
        _call("get_logs", "c2", namespace=NS, name=POD, container=CONTAINER, previous=True, tail_lines=20),
        ScriptedTurn(content="The container was OOMKilled with exit code 137."),
        _answer(excerpt="OOMKilled", call_id="c1"),
    ])
    run = harness("oom_memory_hog", model, skills=model_only_skills)
    result = await run.diagnose()

    diagnosis = result["diagnosis"]
    assert diagnosis["category"] == "oom_killed" and diagnosis["source"] == "rules+model"
    assert diagnosis["affected"][0] == {"kind": "Deployment", "namespace": NS, "name": "memory-hog"}
    assert diagnosis["status"] == "complete" and not diagnosis["needs_human"]
    assert [c.tools for c in model.calls[:3]] == [model.calls[0].tools] * 3 and "describe_pod" in model.calls[0].tools
    assert "OOMKilled" in _tool_messages(model, 1)[0].content  # the model saw the cluster's own words
    assert [row.tool for row in _model_calls(run)] == ["describe_pod", "get_logs"]
    assert result["budget"]["steps"] == 3 and result["budget"]["tokens"] > 0
    assert {"triage", "rules", "tool_call", "diagnosis", "report"} <= set(run.timeline.kinds())


async def test_confident_rules_cost_one_model_call_with_no_tools(harness: Callable[..., Harness]) -> None:
    model = ScriptedChatModel([_answer(excerpt="OOMKilled", call_id="rules-1", confidence=0.7)])
    result = await harness("oom_memory_hog", model).diagnose()
    assert len(model.calls) == 1 and list(model.calls[0].tools) == ["DiagnosisDraft"]  # structured output only
    diagnosis = result["diagnosis"]
    assert diagnosis["category"] == "oom_killed" and diagnosis["source"] == "rules+model"
    assert diagnosis["confidence"] >= 0.85  # the rules' confidence stands; the model explains
    assert diagnosis["root_cause"] == OOM_CAUSE


async def test_forbidden_call_is_refused_and_the_refusal_fed_back(
        harness: Callable[..., Harness], model_only_skills: Path) -> None:
    model = ScriptedChatModel([
        _call("delete_resource", "c1", kind="Pod", namespace=NS, name=POD),
        _call("describe_pod", "c2", namespace=NS, name=POD),
        ScriptedTurn(content="done"),
        _answer(excerpt="OOMKilled", call_id="c2"),
    ])
    run = harness("oom_memory_hog", model, skills=model_only_skills)
    result = await run.diagnose()
    refusal = _tool_messages(model, 1)[0]
    assert refusal.status == "error" and "refused" in refusal.content and "delete_resource" in refusal.content
    assert [p["metadata"]["name"] for p in run.sim.store.list("Pod")] == [POD]  # nothing was deleted
    assert (_model_calls(run)[0].tool, _model_calls(run)[0].status) == ("delete_resource", "refused")
    assert result["diagnosis"]["category"] == "oom_killed"


async def test_invalid_argument_is_corrected_after_the_validation_error(
        harness: Callable[..., Harness], model_only_skills: Path) -> None:
    model = ScriptedChatModel([
        _call("describe_pod", "c1", namespace=NS, name="Memory Hog!"),
        _call("describe_pod", "c2", namespace=NS, name=POD),
        ScriptedTurn(content="done"),
        _answer(excerpt="OOMKilled", call_id="c2"),
    ])
    run = harness("oom_memory_hog", model, skills=model_only_skills)
    result = await run.diagnose()
    error = _tool_messages(model, 1)[0]
    assert error.status == "error" and "name" in error.content
    assert [row.status for row in _model_calls(run)] == ["error", "ok"]
    assert result["diagnosis"]["category"] == "oom_killed" and result["diagnosis"]["status"] == "complete"


async def test_hallucinated_namespace_is_caught_and_named(
        harness: Callable[..., Harness], model_only_skills: Path) -> None:
    model = ScriptedChatModel([
        _call("describe_pod", "c1", namespace="payments-prod", name=POD),
        _call("describe_pod", "c2", namespace=NS, name=POD),
        ScriptedTurn(content="done"),
        _answer(excerpt="OOMKilled", call_id="c2"),
    ])
    await harness("oom_memory_hog", model, skills=model_only_skills).diagnose()
    error = _tool_messages(model, 1)[0].content
    assert "payments-prod" in error and "default" in error  # what is missing, and what exists


async def test_identical_call_guard_forces_a_conclusion_with_partial_findings(
        harness: Callable[..., Harness], model_only_skills: Path) -> None:
    same = dict(namespace=NS, name=POD)
    model = ScriptedChatModel([
        _call("describe_pod", "c1", **same), _call("describe_pod", "c2", **same), _call("describe_pod", "c3", **same),
        _answer(excerpt="OOMKilled", call_id="c1", confidence=0.8),
    ])
    run = harness("oom_memory_hog", model, skills=model_only_skills)
    result = await run.diagnose()
    diagnosis = result["diagnosis"]
    assert diagnosis["status"] == "partial" and "same arguments" in diagnosis["failure_reason"]
    assert diagnosis["needs_human"] and diagnosis["category"] == "oom_killed"  # partial findings kept
    assert len(_model_calls(run)) == 2  # the third identical call never ran
    assert "Stop investigating" in str(model.calls[-1].messages[-1].content)


async def test_token_budget_forces_a_conclusion(harness: Callable[..., Harness], model_only_skills: Path) -> None:
    model = ScriptedChatModel([
        _call("describe_pod", "c1", namespace=NS, name=POD),
        _answer(excerpt="OOMKilled", call_id="c1", confidence=0.8),
    ])
    run = harness("oom_memory_hog", model, skills=model_only_skills, budgets=Budgets(max_tokens=50))
    diagnosis = (await run.diagnose())["diagnosis"]
    assert diagnosis["status"] == "partial" and "budget 50" in diagnosis["failure_reason"]
    assert len(model.calls) == 2  # one investigation step, then the forced conclusion


async def test_last_step_offers_no_tools(harness: Callable[..., Harness], model_only_skills: Path) -> None:
    model = ScriptedChatModel([
        _call("describe_pod", "c1", namespace=NS, name=POD),
        ScriptedTurn(content="concluding"),
        _answer(excerpt="OOMKilled", call_id="c1"),
    ])
    await harness("oom_memory_hog", model, skills=model_only_skills, budgets=Budgets(max_steps=2)).diagnose()
    assert model.calls[0].tools and not model.calls[1].tools


async def test_unquoted_evidence_is_sent_back_once_then_discounted(
        harness: Callable[..., Harness], model_only_skills: Path) -> None:
    made_up = "memory usage 950Mi"  # the cluster never said this
    model = ScriptedChatModel([
        _call("describe_pod", "c1", namespace=NS, name=POD),
        ScriptedTurn(content="done"),
        _answer(excerpt=made_up, call_id="c1", confidence=0.9),
        _answer(excerpt=made_up, call_id="c1", confidence=0.9),
    ])
    diagnosis = (await harness("oom_memory_hog", model, skills=model_only_skills).diagnose())["diagnosis"]
    assert "previous evidence was rejected" in str(model.calls[3].messages[-1].content)
    assert diagnosis["confidence"] == 0.45 and diagnosis["needs_human"]
    assert any(made_up in error for error in diagnosis["errors"])


async def test_corrected_evidence_keeps_its_confidence(harness: Callable[..., Harness], model_only_skills: Path) -> None:
    model = ScriptedChatModel([
        _call("describe_pod", "c1", namespace=NS, name=POD),
        ScriptedTurn(content="done"),
        _answer(excerpt="memory usage 950Mi", call_id="c1"),
        _answer(excerpt="OOMKilled", call_id="c1"),
    ])
    diagnosis = (await harness("oom_memory_hog", model, skills=model_only_skills).diagnose())["diagnosis"]
    assert diagnosis["confidence"] == 0.9 and not diagnosis["needs_human"]


async def test_cluster_unreachable_mid_investigation_fails_with_partial_findings(
        harness: Callable[..., Harness], model_only_skills: Path) -> None:
    def stop_cluster_then_call(_messages: list[Any]) -> ScriptedTurn:
        run.sim.stop()
        return _call("get_logs", "c2", namespace=NS, name=POD, container=CONTAINER, previous=True)

    model = ScriptedChatModel([
        _call("describe_pod", "c1", namespace=NS, name=POD),
        stop_cluster_then_call,
        _answer(excerpt="OOMKilled", call_id="c1", confidence=0.8),
    ])
    run = harness("oom_memory_hog", model, skills=model_only_skills)
    result = await run.diagnose()
    diagnosis = result["diagnosis"]
    assert diagnosis["status"] == "partial" and "unreachable" in diagnosis["failure_reason"]
    assert diagnosis["needs_human"] and diagnosis["category"] == "oom_killed"
    model_findings = [f for f in result["findings"] if not f["call_id"].startswith("rules-")]
    assert [f["status"] for f in model_findings] == ["ok", "error"]
