"""The direct-action tools against the sim: refused unless remediation + enabled namespace + approval;
arguments validated, objects must exist; a restart with the same stamp is a no-op; every call audited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agents.context import ClusterRef, Context
from agents.toolsets import MemoryAuditSink, ToolExecutor, ToolStatus, default_registry
from sim.runtime import RunningSim

SCENARIO = Path(__file__).parents[2] / "app" / "approvals" / "scenarios" / "scaled_to_zero.yaml"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def _executor(sim: RunningSim, *, agent: str = "remediation", enabled: frozenset[str] = frozenset({"c/shop"}),
              approval: str | None = "a" * 64) -> tuple[ToolExecutor, MemoryAuditSink]:
    context = Context(incident_id="7", cluster=ClusterRef("c", sim.kubeconfig_path), direct_actions=enabled,
                      enabled_toolsets=frozenset({"kubernetes", "kubernetes_actions"}))
    audit = MemoryAuditSink()
    return ToolExecutor(default_registry(), context, agent=agent, allowed=["scale", "rollout_restart"], audit=audit,
                        approval=approval), audit


@pytest.mark.parametrize(("kwargs", "status", "message"), [
    ({"agent": "diagnostics"}, ToolStatus.REFUSED, "refused: scale is low_risk and the diagnostics agent may only "
                                                   "run read_only tools."),
    ({"enabled": frozenset()}, ToolStatus.REFUSED, "refused: scale is a direct cluster action and direct actions are "
     "off for this cluster (OPSGRAPH_DIRECT_ACTIONS); propose a GitOps change instead."),
    ({"enabled": frozenset({"c/web", "other/shop"})}, ToolStatus.REFUSED, "refused: scale on c/shop: direct actions "
     "are not enabled for that namespace (OPSGRAPH_DIRECT_ACTIONS); propose a GitOps change instead."),
    ({"approval": None}, ToolStatus.APPROVAL_REQUIRED,
     "scale is low_risk: it needs a person's confirmation before it runs; nothing was changed."),
], ids=["diagnostics", "off", "other namespace only", "not approved"])
async def test_refused_unless_enabled_and_approved(sim_cluster: Callable[..., RunningSim], kwargs: dict[str, Any],
                                                  status: ToolStatus, message: str) -> None:
    sim = sim_cluster(str(SCENARIO))
    executor, audit = _executor(sim, **kwargs)
    result = await executor.call("scale", {"kind": "Deployment", "namespace": "shop", "name": "web", "replicas": 2})
    assert (result.status, result.message) == (status, message)
    assert sim.store.get("Deployment", "shop", "web")["spec"]["replicas"] == 0
    assert [(row.agent, row.tool, row.status) for row in audit.rows] == [(executor.agent, "scale", status.value)]


@pytest.mark.parametrize(("args", "needle"), [
    ({"kind": "Deployment", "namespace": "shop", "name": "web", "replicas": 51}, "replicas"),
    ({"kind": "Pod", "namespace": "shop", "name": "web", "replicas": 1}, "kind"),
    ({"kind": "Deployment", "namespace": "shop", "name": "nope", "replicas": 1}, "deployment 'nope' not found"),
    ({"kind": "Deployment", "namespace": "Bad_NS", "name": "web", "replicas": 1}, "namespace"),
], ids=["too many", "wrong kind", "hallucinated", "bad namespace"])
async def test_arguments_are_validated_and_objects_must_exist(sim_cluster: Callable[..., RunningSim],
                                                             args: dict[str, Any], needle: str) -> None:
    sim = sim_cluster(str(SCENARIO))
    executor, _ = _executor(sim, enabled=frozenset({"c/*"}))
    result = await executor.call("scale", args)
    assert result.status in (ToolStatus.ERROR, ToolStatus.REFUSED) and needle in result.message


async def test_restart_sets_the_stamp_once(sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster(str(SCENARIO))
    executor, audit = _executor(sim)
    args = {"kind": "Deployment", "namespace": "shop", "name": "web", "restarted_at": "2026-11-22T09:00:00Z"}
    first = await executor.call("rollout_restart", args)
    again = await executor.call("rollout_restart", args)
    assert first.status is ToolStatus.OK and first.data["changed"] is True
    assert again.status is ToolStatus.OK and again.data["changed"] is False and "already restarted" in again.text
    template = sim.store.get("Deployment", "shop", "web")["spec"]["template"]
    assert template["metadata"]["annotations"][RESTARTED_AT] == "2026-11-22T09:00:00Z"
    assert [(row.agent, row.tool, row.status) for row in audit.rows] == [("remediation", "rollout_restart", "ok")] * 2
