"""Referenced namespaces and objects must exist; the error lists real names so the model can correct itself."""

from __future__ import annotations

import pytest

from agents.toolsets import ToolStatus
from sim.runtime import RunningSim
from tests.agents.toolsets.conftest import context_for, executor_for


@pytest.mark.parametrize(("tool", "args", "message"), [
    ("describe_pod", {"namespace": "prod", "name": "memory-hog"},
     "namespace 'prod' does not exist (namespaces: default, kube-node-lease, kube-public, kube-system); "
     "use a name that exists."),
    ("describe_pod", {"namespace": "default", "name": "memory-hog"},
     "pod 'memory-hog' not found in namespace 'default' (pods there: {pod}); use a name that exists."),
    ("get_logs", {"namespace": "default", "name": "payment-api-7d9f"},
     "pod 'payment-api-7d9f' not found in namespace 'default' (pods there: {pod}); use a name that exists."),
    ("describe_deployment", {"namespace": "default", "name": "memory-hogg"},
     "deployment 'memory-hogg' not found in namespace 'default' (deployments there: memory-hog); "
     "use a name that exists."),
    ("describe_node", {"name": "worker-9"},
     "node 'worker-9' not found (nodes: worker-1, worker-2, worker-3); use a name that exists."),
    ("get_resource_yaml", {"kind": "Widget", "namespace": "default", "name": "x"},
     "unknown kind 'Widget'; kinds these tools read: Namespace, Pod, Event, Node, Service, Endpoints, ConfigMap, "
     "Secret, PersistentVolumeClaim, PersistentVolume, ResourceQuota, ServiceAccount, LimitRange, Deployment, "
     "ReplicaSet, StatefulSet, DaemonSet, ControllerRevision, Job, CronJob, HorizontalPodAutoscaler, Ingress, "
     "NetworkPolicy, IngressClass, EndpointSlice, StorageClass, PodDisruptionBudget, PriorityClass, Role, "
     "RoleBinding, ClusterRole, ClusterRoleBinding, ValidatingWebhookConfiguration, MutatingWebhookConfiguration; "
     "use a name that exists."),
    ("get_resource_yaml", {"kind": "ConfigMap", "name": "app-config"},
     "ConfigMap is namespaced: give the namespace of 'app-config'; use a name that exists."),
], ids=["namespace", "pod", "logs pod", "deployment", "node", "unknown kind", "namespace needed"])
async def test_missing_reference_is_an_error_listing_real_names(oom_sim: RunningSim, tool: str, args: dict,  # type: ignore[type-arg]
                                                                message: str) -> None:
    executor, audit = executor_for(context_for(oom_sim))
    pod = next(p["metadata"]["name"] for p in oom_sim.store.list("Pod", "default"))
    result = await executor.call(tool, args)
    assert result.status is ToolStatus.ERROR
    assert result.message == message.format(pod=pod)
    assert audit.rows[0].status == "error"


async def test_existing_references_pass(oom_sim: RunningSim) -> None:
    executor, _ = executor_for(context_for(oom_sim))
    result = await executor.call("get_resource_yaml", {"kind": "cm", "namespace": "default", "name": "kube-root-ca.crt"})
    assert result.status is ToolStatus.OK and result.data["kind"] == "ConfigMap"
