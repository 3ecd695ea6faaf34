"""The seed demo end to end through the real kubernetes client: diagnose, patch, healed."""

from __future__ import annotations

from kubernetes import client, config

from sim.runtime import start_sim


def test_oom_demo_is_diagnosable_and_fixable_over_http() -> None:
    with start_sim("oom_memory_hog") as sim:
        api = config.new_client_from_config(str(sim.kubeconfig_path))
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        (pod,) = core.list_namespaced_pod("default", label_selector="app=memory-hog").items
        status = pod.status.container_statuses[0]
        assert status.state.waiting.reason == "CrashLoopBackOff"
        assert status.last_state.terminated.reason == "OOMKilled"
        assert "dispatching hogs" in core.read_namespaced_pod_log(pod.metadata.name, "default", previous=True)
        events = core.list_namespaced_event("default", field_selector=f"involvedObject.name={pod.metadata.name}")
        assert any(e.reason == "BackOff" and e.type == "Warning" for e in events.items)
        before = {e.metadata.name: e.count for e in core.list_namespaced_event("default").items if e.type == "Warning"}

        apps.patch_namespaced_deployment("memory-hog", "default", {"spec": {"template": {"spec": {"containers": [
            {"name": "memory-hog", "resources": {"limits": {"memory": "256Mi"}}}]}}}})

        (fixed,) = core.list_namespaced_pod("default", label_selector="app=memory-hog").items
        assert fixed.metadata.name != pod.metadata.name
        assert fixed.status.phase == "Running" and fixed.status.container_statuses[0].ready
        dep = apps.read_namespaced_deployment("memory-hog", "default")
        assert dep.status.available_replicas == 1
        after = {e.metadata.name: e.count for e in core.list_namespaced_event("default").items if e.type == "Warning"}
        assert after == before

