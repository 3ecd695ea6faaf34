"""The read-only tools show each shipped fault in words a model and the rule engine can match."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents.toolsets import ToolStatus
from sim.runtime import RunningSim, start_sim
from tests.agents.toolsets.conftest import context_for, executor_for, pod_named


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, RunningSim]]:
    names = ["service_selector_mismatch", "image_pull_bad_tag", "crashloop_missing_env", "pending_insufficient_memory"]
    running = {name: start_sim(name) for name in names}
    yield running
    for sim in running.values():
        sim.stop()


async def test_describe_pod_shows_the_oom_kill_and_the_limit(oom_sim: RunningSim) -> None:
    executor, _ = executor_for(context_for(oom_sim))
    pod = pod_named(oom_sim, "default", "memory-hog-")
    result = await executor.call("describe_pod", {"namespace": "default", "name": pod})
    assert result.status is ToolStatus.OK
    for line in ["Status:          CrashLoopBackOff", "    Last State:     Terminated", "      Reason:       OOMKilled",
                 "      Exit Code:    137", "    Limits:         memory=100Mi", "    Restart Count:  10",
                 "    Args:           --vm 1 --vm-bytes 200M --vm-hang 1"]:
        assert line in result.text.splitlines(), line
    assert result.text.rstrip().splitlines()[-1].lstrip().startswith("Warning   BackOff")  # newest event last
    container = result.data["containers"][0]
    assert container["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert container["resources"]["limits"] == {"memory": "100Mi"}
    assert {"reason": "BackOff", "type": "Warning"}.items() <= result.data["events"][-1].items()


async def test_rollout_history_and_workloads_name_the_deployment(oom_sim: RunningSim) -> None:
    executor, _ = executor_for(context_for(oom_sim))
    workloads = await executor.call("list_workloads", {"namespace": "default"})
    assert workloads.data == [{"kind": "Deployment", "namespace": "default", "name": "memory-hog", "ready": "0/1",
                               "healthy": False, "problem": workloads.data[0]["problem"]}]
    assert "MinimumReplicasUnavailable" in workloads.data[0]["problem"]
    history = await executor.call("get_rollout_history", {"namespace": "default", "name": "memory-hog"})
    assert "memory-hog=polinux/stress" in history.text and "1 (current)" in history.text


async def test_previous_log_and_grep(oom_sim: RunningSim) -> None:
    executor, _ = executor_for(context_for(oom_sim))
    pod = pod_named(oom_sim, "default", "memory-hog-")
    found = await executor.call("get_logs", {"namespace": "default", "name": pod, "previous": True, "grep": "HOGS"})
    assert found.text == "stress: info: [1] dispatching hogs: 0 cpu, 0 io, 1 vm, 0 hdd"
    regex = await executor.call("get_logs", {"namespace": "default", "name": pod, "grep": r"\d+ vm", "grep_regex": True})
    assert regex.status is ToolStatus.OK
    none = await executor.call("get_logs", {"namespace": "default", "name": pod, "grep": "panic"})
    assert none.status is ToolStatus.NO_DATA
    assert none.message == f"no lines match 'panic' in the current log of default/{pod} (1 lines searched)"
    evil = await executor.call("get_logs", {"namespace": "default", "name": pod, "grep": "(a+)+$", "grep_regex": True})
    assert evil.status is ToolStatus.ERROR and "nested quantifier" in evil.message


async def test_resource_yaml_strips_bookkeeping(oom_sim: RunningSim) -> None:
    executor, _ = executor_for(context_for(oom_sim))
    result = await executor.call("get_resource_yaml", {"kind": "deploy", "namespace": "default", "name": "memory-hog"})
    assert result.status is ToolStatus.OK
    assert "managedFields" not in result.text and "last-applied-configuration" not in result.text
    assert "memory: 100Mi" in result.text and result.data["kind"] == "Deployment"


async def test_endpoints_show_the_selector_mismatch(sims: dict[str, RunningSim]) -> None:
    executor, _ = executor_for(context_for(sims["service_selector_mismatch"]))
    result = await executor.call("get_endpoints", {"namespace": "frontend", "name": "nginx"})
    assert result.status is ToolStatus.OK
    assert "Endpoints:  <none>" in result.text
    assert "Pods matching the selector: 0" in result.text
    assert "Labels of pods in the namespace: app=nginx,pod-template-hash=84d8449b4f" in result.text
    assert result.data["selector"] == {"app": "web"} and result.data["matchingPods"] == []


async def test_image_pull_failure_in_pods_and_warning_events(sims: dict[str, RunningSim]) -> None:
    executor, _ = executor_for(context_for(sims["image_pull_bad_tag"]))
    pods = await executor.call("list_pods", {"problems_only": True})
    assert [(p["namespace"], p["status"]) for p in pods.data] == [("web", "ImagePullBackOff")]
    events = await executor.call("get_events", {"namespace": "web", "type": "Warning"})
    assert {e["reason"] for e in events.data} == {"Failed"}
    assert 'Failed to pull image "nginx:invalid-tag"' in events.text


async def test_missing_env_shows_in_the_previous_log(sims: dict[str, RunningSim]) -> None:
    running = sims["crashloop_missing_env"]
    executor, _ = executor_for(context_for(running))
    pod = pod_named(running, "payments", "payment-processing-worker-")
    result = await executor.call("get_logs", {"namespace": "payments", "name": pod, "previous": True})
    assert result.status is ToolStatus.OK and "DEPLOY_ENV" in result.text


async def test_pending_pods_and_scheduling_events(sims: dict[str, RunningSim]) -> None:
    running = sims["pending_insufficient_memory"]
    executor, _ = executor_for(context_for(running))
    pod = pod_named(running, "analytics", "analytics-engine-")
    result = await executor.call("describe_pod", {"namespace": "analytics", "name": pod})
    assert "Status:          Pending" in result.text
    assert any(e["reason"] == "FailedScheduling" and "Insufficient memory" in e["message"] for e in result.data["events"])
    node = await executor.call("describe_node", {"name": "worker-1"})
    assert "Ready            True" in node.text and node.data["unschedulable"] is False
    usage = await executor.call("get_resource_usage", {"kind": "node"})
    assert [row["node"] for row in usage.data] == ["worker-1", "worker-2", "worker-3"]
