"""`opsgraph diagnose`: run the supervisor once, in this process, and print the diagnosis.

Against a scenario (a fresh sim, its alerts) or a real cluster (a kubeconfig, a namespace and
optionally a resource). Nothing is stored: an in-memory checkpointer, timeline and audit log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from langgraph.checkpoint.memory import InMemorySaver

from agents.audit import MemoryAuditSink
from agents.context import ClusterRef, Context
from agents.diagnosis import IncidentInput, ResourceRef
from agents.timeline import MemoryTimeline
from app.runner import TOOLSETS, budgets_from, build_toolbox
from app.settings import Settings
from graphs.supervisor import build_supervisor_graph, run_config
from sim.runtime import start_sim
from sim.scenario import Scenario


async def diagnose(settings: Settings, incident: IncidentInput, kubeconfig: Path | None,
                   kube_context: str | None = None) -> dict[str, Any]:
    audit = MemoryAuditSink()
    toolbox = build_toolbox(settings, audit)
    graph = build_supervisor_graph(toolbox, MemoryTimeline(), InMemorySaver())
    context = Context(incident_id="cli", cluster=ClusterRef(incident.cluster, kubeconfig, kube_context),
                      budgets=budgets_from(settings), model=settings.model if settings.model_configured else None,
                      enabled_toolsets=TOOLSETS, prometheus_url=settings.prometheus_url,
                      registry_mirrors=settings.registry_mirror_pairs)
    result: dict[str, Any] = await graph.ainvoke({"incident": incident.model_dump(mode="json")},
                                                 run_config("cli", context.budgets), context=context)
    result["audit"] = [row.model_dump(mode="json") for row in audit.rows]
    return result


def scenario_namespace(scenario: Scenario) -> str:
    for obj in scenario.objects:
        namespace = (obj.get("metadata") or {}).get("namespace")
        if namespace:
            return str(namespace)
    return "default"


async def diagnose_scenario(scenario: Scenario, settings: Settings) -> dict[str, Any]:
    alerts = [a.model_dump(mode="json", exclude_none=True) for a in scenario.alerts]
    namespace = (alerts[0]["labels"].get("namespace") if alerts else None) or scenario_namespace(scenario)
    with start_sim(scenario) as sim:
        incident = IncidentInput(cluster="sim", namespace=namespace, alerts=alerts)
        # The simulated cluster is also its images' registry (the scenario's world facts).
        local = settings.model_copy(update={"registry_mirrors": [f"*={sim.url}"]})
        return await diagnose(local, incident, sim.kubeconfig_path)


def parse_resource(text: str | None, namespace: str | None) -> ResourceRef | None:
    """`deployment/web` or `Pod/web-1`, in the given namespace."""
    if not text:
        return None
    kind, _, name = text.partition("/")
    if not name:
        raise ValueError(f"--resource must be KIND/NAME, got {text!r}")
    return ResourceRef(kind=kind[:1].upper() + kind[1:], namespace=namespace, name=name)


def print_diagnosis(result: dict[str, Any], out: TextIO, as_json: bool) -> None:
    diagnosis = result["diagnosis"]
    if diagnosis.get("status") == "failed" and not as_json:
        out.write(f"cannot diagnose: {diagnosis.get('failure_reason')}\n")
        return
    if as_json:
        json.dump({"diagnosis": diagnosis, "budget": result.get("budget")}, out, indent=2, default=str)
        out.write("\n")
        return
    affected = ", ".join(f"{a['kind']} {a.get('namespace') or ''}/{a['name']}" for a in diagnosis["affected"][:3])
    lines = [f"category:    {diagnosis['category']}  (confidence {diagnosis['confidence']:.2f}, {diagnosis['source']})",
             f"root cause:  {diagnosis['root_cause']}", f"affected:    {affected or '-'}"]
    for item in diagnosis["evidence"][:5]:
        lines.append(f"evidence:    [{item['tool']} {item['call_id']}] {item['excerpt'][:140]!r}")
    for fix in diagnosis["suggested_fixes"]:
        lines.append(f"fix:         {fix['resource']['kind']}/{fix['resource']['name']} {fix['field_path']} -> "
                     f"{fix['new_value']!r}  ({fix['rationale']})")
    if diagnosis.get("needs_human"):
        lines.append(f"needs human: {diagnosis['reason_for_human']}")
    budget = result.get("budget") or {}
    lines.append(f"cost:        {budget.get('tool_calls', 0)} tool calls, {budget.get('steps', 0)} model steps, "
                 f"{budget.get('tokens', 0)} tokens")
    out.write("\n".join(lines) + "\n")


def toolset_table(settings: Settings) -> str:
    """`opsgraph toolsets`: each toolset, enabled or not, and why (like `holmes toolset list`)."""
    from agents.toolsets.status import toolset_statuses

    from agents.skills.loader import load_skills
    from agents.toolsets.status import agent_tools

    # As the service runs: the knowledge base is always connected there.
    context = Context(incident_id="-", cluster=ClusterRef(settings.default_cluster, settings.kubeconfig),
                      enabled_toolsets=TOOLSETS | {"knowledge"}, prometheus_url=settings.prometheus_url,
                      registry_mirrors=settings.registry_mirror_pairs,
                      direct_actions=frozenset(settings.direct_actions),
                      tavily_api_key=settings.tavily_api_key.get_secret_value() if settings.tavily_api_key else None)
    rows = [f"{'toolset':<18} {'enabled':<8} reason"]
    for status in toolset_statuses(context, used_by=agent_tools(load_skills().tools())):
        rows.append(f"{status.name:<18} {'yes' if status.enabled else 'no':<8} {status.reason}")
    return "\n".join(rows)
