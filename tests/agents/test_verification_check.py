"""One look at a workload through the read-only toolset: healthy, failing, or unknown, with the reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from agents.audit import MemoryAuditSink
from agents.context import ClusterRef, Context
from agents.toolsets.shipped import default_registry
from agents.verification import WorkloadRef, check_workload, verifier
from sim.runtime import RunningSim
from sim.patching import apply_patch

HOG = WorkloadRef("Deployment", "default", "memory-hog")


def _executor(sim: RunningSim, audit: MemoryAuditSink | None = None):  # type: ignore[no-untyped-def]
    return verifier(default_registry(), Context(incident_id="7", cluster=ClusterRef("sim", sim.kubeconfig_path)),
                    audit=audit)


async def test_crash_looping_workload_is_failing(sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("oom_memory_hog")
    report = await check_workload(_executor(sim), HOG, since=datetime.now(UTC))
    assert report.verdict == "failing" and (report.ready, report.desired) == (0, 1)
    assert report.summary == "0/1 ready, 1/1 updated, no new Warning events since the merge"
    assert len(report.pod_problems) == 1 and "memory-hog-" in report.pod_problems[0]
    # Merged before the crash loop began: its BackOff warnings are new since the merge, and named.
    before = await check_workload(_executor(sim), HOG, since=datetime.now(UTC) - timedelta(hours=2))
    assert before.verdict == "failing" and before.new_warnings
    assert "new Warning event(s) since the merge: BackOff on memory-hog-" in before.summary


async def test_fixed_workload_is_healthy_unless_warnings_came_after_the_merge(
        sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("oom_memory_hog")
    fix = sim.scenario.expect.fix
    assert fix is not None
    with sim.store.lock:
        sim.store.put(apply_patch(sim.store.get("Deployment", "default", "memory-hog"), fix))
        sim.controller.reconcile()
    audit = MemoryAuditSink()
    healthy = await check_workload(_executor(sim, audit), HOG, since=datetime.now(UTC))
    assert (healthy.verdict, healthy.summary) == ("healthy", "1/1 ready, 1/1 updated, no new Warning events since "
                                                             "the merge")
    assert [row.tool for row in audit.rows] == ["describe_deployment", "list_pods", "get_events"]
    assert {row.agent for row in audit.rows} == {"verification"}
    # Had the merge been an hour before the fault, the old pods' BackOff warnings would be new since it; but
    # those pods are gone, and only the workload's own objects count.
    early = await check_workload(_executor(sim), HOG, since=datetime.now(UTC) - timedelta(hours=1))
    assert early.verdict == "healthy"


async def test_missing_workload_or_unknown_kind_is_unknown(sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("oom_memory_hog")
    gone = await check_workload(_executor(sim), WorkloadRef("Deployment", "default", "nope"), since=datetime.now(UTC))
    assert gone.verdict == "unknown" and gone.summary.startswith("could not read Deployment default/nope:")
    job = await check_workload(_executor(sim), WorkloadRef("Job", "default", "x"), since=datetime.now(UTC))
    assert (job.verdict, job.summary) == ("unknown", "opsgraph cannot verify a Job yet; a person must check "
                                                     "Job default/x")


SHIPPER = WorkloadRef("DaemonSet", "kube-system", "log-shipper")


async def test_daemonset_is_healthy_with_a_ready_pod_on_every_eligible_node(
        sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("healthy_baseline")
    audit = MemoryAuditSink()
    report = await check_workload(_executor(sim, audit), SHIPPER, since=datetime.now(UTC))
    nodes = len(sim.store.list("Node"))
    assert (report.verdict, report.desired, report.ready) == ("healthy", nodes, nodes)
    assert report.summary == f"{nodes}/{nodes} ready, {nodes}/{nodes} updated, no new Warning events since the merge"
    assert [row.tool for row in audit.rows] == ["describe_daemonset", "list_pods", "get_events"]


async def test_daemonset_whose_new_pods_crash_is_failing(sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("healthy_baseline")
    with sim.store.lock:  # a merged change that squeezes the limit under the working set (18Mi)
        shipper = sim.store.get("DaemonSet", "kube-system", "log-shipper")
        shipper["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "8Mi"
        sim.store.put(shipper)
        sim.controller.reconcile()
    report = await check_workload(_executor(sim), SHIPPER, since=datetime.now(UTC) - timedelta(hours=1))
    nodes = len(sim.store.list("Node"))
    assert (report.verdict, report.desired, report.ready) == ("failing", nodes, 0)
    assert len(report.pod_problems) == nodes and all("log-shipper-" in p for p in report.pod_problems)
    # Only the DaemonSet's own pods count: the namespace's other workloads are healthy.
    assert {(e.get("object") or {}).get("name", "")[:12] for e in report.new_warnings} == {"log-shipper-"}


async def test_daemonset_with_a_pod_on_a_failed_node_is_failing(sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("node_not_ready")
    exporter = WorkloadRef("DaemonSet", "monitoring", "prometheus-node-exporter")
    report = await check_workload(_executor(sim), exporter, since=datetime.now(UTC) - timedelta(hours=3))
    assert report.verdict == "failing" and report.ready == report.desired - 1
    assert "NodeNotReady on prometheus-node-exporter-" in report.summary


async def test_daemonset_that_schedules_nowhere_is_not_verified(sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("healthy_baseline")
    with sim.store.lock:  # a merged change whose node selector matches no node
        shipper = sim.store.get("DaemonSet", "kube-system", "log-shipper")
        shipper["spec"]["template"]["spec"]["nodeSelector"] = {"pool": "does-not-exist"}
        sim.store.put(shipper)
        sim.controller.reconcile()
    report = await check_workload(_executor(sim), SHIPPER, since=datetime.now(UTC))
    assert report.verdict == "unknown" and report.summary.startswith(
        "DaemonSet kube-system/log-shipper wants a pod on no node (0 desired); a person must check")


async def test_status_the_controller_wrote_before_the_change_is_not_evidence(
        sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("healthy_baseline")
    with sim.store.lock:  # the spec changed (a new generation); the controller has not synced it yet
        shipper = sim.store.get("DaemonSet", "kube-system", "log-shipper")
        shipper["spec"]["template"]["metadata"]["annotations"] = {"fix": "merged"}
        sim.store.put(shipper)
    assert sim.store.get("DaemonSet", "kube-system", "log-shipper")["metadata"]["generation"] == 2
    report = await check_workload(_executor(sim), SHIPPER, since=datetime.now(UTC))
    assert report.verdict == "failing" and report.ready == report.desired
    assert report.summary.endswith("; the controller has not observed the latest change yet")


async def test_on_delete_daemonset_does_not_need_updated_pods(sim_cluster: Callable[..., RunningSim]) -> None:
    sim = sim_cluster("healthy_baseline")
    with sim.store.lock:  # as the API shows it after a template change under OnDelete: old pods, all ready
        shipper = sim.store.get("DaemonSet", "kube-system", "log-shipper")
        shipper["spec"]["updateStrategy"] = {"type": "OnDelete"}
        sim.store.put(shipper)
        shipper = sim.store.get("DaemonSet", "kube-system", "log-shipper")
        shipper["status"].update(observedGeneration=shipper["metadata"]["generation"], updatedNumberScheduled=0)
        sim.store.put(shipper)
    report = await check_workload(_executor(sim), SHIPPER, since=datetime.now(UTC))
    assert (report.verdict, report.updated) == ("healthy", 0)
    assert report.summary.endswith("; updateStrategy OnDelete: pods take the change only when they are deleted")
