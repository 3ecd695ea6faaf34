"""`opsgraph diagnose` on a namespace or resource that does not exist says so, naming what does."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agents.diagnosis import IncidentInput, ResourceRef
from app.diagnose import diagnose
from app.settings import Settings
from sim.runtime import RunningSim


@pytest.mark.parametrize(
    ("namespace", "resource", "message"),
    [
        pytest.param("nope", None, "namespace 'nope' does not exist (namespaces: default", id="unknown-namespace"),
        pytest.param("default", ResourceRef(kind="Deployment", namespace="default", name="ghost"),
                     "deployment 'ghost' not found in namespace 'default' (deployments there: memory-hog)",
                     id="unknown-deployment"),
        pytest.param("default", ResourceRef(kind="Pod", namespace="default", name="ghost-0"),
                     "pod 'ghost-0' not found in namespace 'default'", id="unknown-pod"),
    ],
)
async def test_unknown_target_fails_the_diagnosis_with_a_clear_reason(
        settings: Settings, sim_cluster: Callable[..., RunningSim], namespace: str,
        resource: ResourceRef | None, message: str) -> None:
    sim = sim_cluster("oom_memory_hog")
    result = await diagnose(settings, IncidentInput(cluster="sim", namespace=namespace, resource=resource),
                            sim.kubeconfig_path)
    diagnosis = result["diagnosis"]
    assert diagnosis["status"] == "failed" and diagnosis["needs_human"]
    assert message in diagnosis["failure_reason"]
    assert len(result["audit"]) == 1  # one cheap look, then a clear answer


async def test_an_existing_target_is_diagnosed(settings: Settings, sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("oom_memory_hog")
    resource = ResourceRef(kind="Deployment", namespace="default", name="memory-hog")
    result = await diagnose(settings, IncidentInput(cluster="sim", namespace="default", resource=resource),
                            sim.kubeconfig_path)
    assert result["diagnosis"]["category"] == "oom_killed" and result["diagnosis"]["status"] == "complete"
