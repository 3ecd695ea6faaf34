"""`opsgraph bench diagnose`: what a diagnosis costs, per shipped scenario.

- offline (rules, no model): wall time per scenario, median of `--repeat` runs, and p95 overall;
- scripted model, rules first (the shipped design): prompt tokens of the one call that explains a
  confident rule finding;
- scripted model, model only (no decision trees): a ReAct run that looks at the alerted pod, its
  crashed run and the namespace's warnings before concluding; prompt tokens per step and per incident.
Token counts are the scripted model's estimate (characters / 4 over everything sent, tool
definitions included), so they compare designs, not vendors' tokenizers.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver

from agents.audit import MemoryAuditSink
from agents.context import ClusterRef, Context
from agents.diagnosis import IncidentInput
from agents.investigation import Toolbox
from testing.scripted_model import ScriptedChatModel, ScriptedTurn
from agents.skills.loader import SKILLS_DIR, load_skills
from agents.timeline import MemoryTimeline
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.shipped import default_registry
from app.diagnose import scenario_namespace
from graphs.supervisor import build_supervisor_graph, run_config
from sim.runtime import start_sim
from sim.scenario import Scenario, load_scenario, scenario_dir


def _model_only_skills(folder: Path) -> Path:
    """The shipped skills with no decision trees: the model has to find everything itself."""
    text = (SKILLS_DIR / "base.yaml").read_text()
    head, _, rest = text.partition("\nsteps:\n")
    _, _, tail = rest.partition("\nmemory:\n")
    (folder / "base.yaml").write_text(f"{head}\nsteps: []\nmemory:\n{tail}")
    return folder


def _react_script(incident: IncidentInput, scenario: Scenario) -> list[Any]:
    """Three looks an SRE would take, then a conclusion quoting the first tool's output. One adaptive
    turn answers every call: a request to conclude gets the conclusion whenever it comes."""
    labels = incident.alert_labels()[0] if incident.alerts else {}
    namespace = incident.namespace or "default"
    pod = labels.get("pod")
    looks: list[dict[str, Any]] = [{"name": "list_pods", "args": {"namespace": namespace}}]
    if pod:
        looks = [{"name": "describe_pod", "args": {"namespace": namespace, "name": pod}},
                 {"name": "get_logs", "args": {"namespace": namespace, "name": pod, "previous": True,
                                               "tail_lines": 50}}]
    looks.append({"name": "get_events", "args": {"namespace": namespace, "type": "Warning"}})
    taken: list[int] = []

    def turn(messages: list[BaseMessage]) -> ScriptedTurn:
        asked = str(messages[-1].content) if messages else ""
        if asked.startswith(("Conclude now", "Stop investigating")):
            quoted = next((str(m.content) for m in messages if getattr(m, "tool_call_id", None) == "b0"), "")
            excerpt = next((line.strip() for line in quoted.splitlines()[1:] if line.strip()), "")
            evidence = [{"call_id": "b0", "tool": looks[0]["name"], "excerpt": excerpt[:80]}] if excerpt else []
            return ScriptedTurn(structured={"category": scenario.expect.category, "confidence": 0.9,
                                            "root_cause": "benchmark conclusion", "evidence": evidence})
        if len(taken) < len(looks):
            taken.append(1)
            i = len(taken) - 1
            return ScriptedTurn(tool_calls=[{**looks[i], "id": f"b{i}"}])
        return ScriptedTurn(content="I have enough to conclude.")

    return [turn] * (len(looks) + 4)


async def _one(scenario: Scenario, model: ScriptedChatModel | None, skills: Path) -> dict[str, Any]:
    alerts = [a.model_dump(mode="json", exclude_none=True) for a in scenario.alerts]
    namespace = (alerts[0]["labels"].get("namespace") if alerts else None) or scenario_namespace(scenario)
    incident = IncidentInput(cluster="sim", namespace=namespace, alerts=alerts)
    if model is not None and model.remaining == 0:
        model = ScriptedChatModel(_react_script(incident, scenario))
    toolbox = Toolbox(default_registry(), load_skills(skills), ClusterClients(), MemoryAuditSink(), model)
    graph = build_supervisor_graph(toolbox, MemoryTimeline(), InMemorySaver())
    with start_sim(scenario) as sim:
        context = Context(incident_id="bench", cluster=ClusterRef("sim", sim.kubeconfig_path))
        started = time.perf_counter()
        result = await graph.ainvoke({"incident": incident.model_dump(mode="json")},
                                     run_config("bench", context.budgets), context=context)
        seconds = time.perf_counter() - started
    calls = model.calls if model is not None else []
    return {"seconds": seconds, "category": result["diagnosis"]["category"],
            "prompt_tokens": [c.input_tokens for c in calls], "tool_calls": result["budget"].get("tool_calls", 0)}


def _explain_script(scenario: Scenario) -> ScriptedChatModel:
    answer = ScriptedTurn(structured={"category": scenario.expect.category, "root_cause": "benchmark explanation",
                                      "confidence": 0.9})
    return ScriptedChatModel([answer, answer])  # a second answer in case the first is sent back


async def bench_diagnose(folder: Path, repeat: int) -> str:
    paths = sorted(folder.glob("*.yaml"))
    rows = [f"{'scenario':<38} {'offline ms':>10} {'calls':>5} {'explain tok':>11} {'react steps':>11} "
            f"{'react tok/step':>14} {'react tok':>9}"]
    offline_all: list[float] = []
    explain_all: list[int] = []
    react_all: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        model_only = _model_only_skills(Path(tmp))
        for path in paths:
            scenario = load_scenario(path)
            offline = [await _one(scenario, None, SKILLS_DIR) for _ in range(repeat)]
            median_ms = statistics.median(r["seconds"] for r in offline) * 1000
            offline_all += [r["seconds"] for r in offline]
            explain = await _one(scenario, _explain_script(scenario), SKILLS_DIR)
            react = await _one(scenario, ScriptedChatModel([]), model_only)
            react_tokens = react["prompt_tokens"]
            explain_all.append(sum(explain["prompt_tokens"]))
            react_all.append(sum(react_tokens))
            per_step = "/".join(str(t) for t in react_tokens)
            rows.append(f"{path.stem:<38} {median_ms:>10.0f} {offline[0]['tool_calls']:>5} "
                        f"{sum(explain['prompt_tokens']):>11} {len(react_tokens):>11} {per_step:>14.14} "
                        f"{sum(react_tokens):>9}")
    offline_all.sort()
    p95 = offline_all[max(0, round(0.95 * len(offline_all)) - 1)]
    rows.append(f"offline wall time: median {statistics.median(offline_all) * 1000:.0f} ms, "
                f"p95 {p95 * 1000:.0f} ms, max {offline_all[-1] * 1000:.0f} ms over {len(offline_all)} runs")
    rows.append(f"prompt tokens per incident: rules first + explanation median {statistics.median(explain_all):.0f}; "
                f"model-only ReAct median {statistics.median(react_all):.0f} "
                f"({statistics.median(react_all) / max(1, statistics.median(explain_all)):.1f}x)")
    return "\n".join(rows)


def run_bench_diagnose(folder: Path | None, repeat: int) -> int:
    print(asyncio.run(bench_diagnose(folder or scenario_dir(), repeat)))
    return 0
