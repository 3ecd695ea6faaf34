"""Build the supervisor the way the app does (Postgres checkpointer) around a simulated cluster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg_pool import AsyncConnectionPool

from agents.audit import MemoryAuditSink
from agents.context import Budgets, ClusterRef, Context
from agents.diagnosis import IncidentInput
from agents.investigation import Toolbox
from testing.scripted_model import ScriptedChatModel
from agents.skills.loader import SKILLS_DIR, load_skills
from agents.timeline import MemoryTimeline
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.shipped import default_registry
from graphs.supervisor import build_supervisor_graph, run_config
from sim.runtime import RunningSim


@dataclass
class Harness:
    graph: Any
    timeline: MemoryTimeline
    audit: MemoryAuditSink
    sim: RunningSim
    context: Context

    async def diagnose(self, alerts: list[dict[str, Any]] | None = None, namespace: str | None = None) -> dict[str, Any]:
        scenario_alerts = self.sim.scenario.model_dump(mode="json")["alerts"]
        alerts = scenario_alerts if alerts is None else alerts
        namespace = namespace or (alerts[0]["labels"].get("namespace") if alerts else None)
        incident = IncidentInput(cluster=self.context.cluster.id, namespace=namespace, alerts=alerts)
        result: dict[str, Any] = await self.graph.ainvoke(
            {"incident": incident.model_dump(mode="json")},
            run_config(self.context.incident_id, self.context.budgets), context=self.context)
        return result


@pytest.fixture
def model_only_skills(tmp_path: Path) -> Path:
    """A skills folder whose base skill has no decision tree: the rules find nothing, the model must."""
    folder = tmp_path / "skills"
    folder.mkdir()
    text = (SKILLS_DIR / "base.yaml").read_text()
    head, _, rest = text.partition("\nsteps:\n")
    _, _, tail = rest.partition("\nmemory:\n")
    (folder / "base.yaml").write_text(f"{head}\nsteps: []\nmemory:\n{tail}")
    return folder


@pytest.fixture
def harness(db_pool: AsyncConnectionPool[Any], sim_cluster: Callable[..., RunningSim]) -> Callable[..., Harness]:
    def build(scenario: str, model: ScriptedChatModel | None = None, *, skills: Path | None = None,
              budgets: Budgets | None = None, incident_id: str = "incident-1") -> Harness:
        sim = sim_cluster(scenario)
        timeline, audit = MemoryTimeline(), MemoryAuditSink()
        toolbox = Toolbox(default_registry(), load_skills(skills or SKILLS_DIR), ClusterClients(), audit, model)
        graph = build_supervisor_graph(toolbox, timeline, AsyncPostgresSaver(db_pool))  # type: ignore[arg-type]
        context = Context(incident_id=incident_id, cluster=ClusterRef(id="sim", kubeconfig=sim.kubeconfig_path),
                          budgets=budgets or Budgets(), model="scripted" if model else None)
        return Harness(graph, timeline, audit, sim, context)

    return build


