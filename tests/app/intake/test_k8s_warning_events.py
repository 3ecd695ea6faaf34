"""Warning events from a (simulated) cluster become incidents through the same join rules; the watch
resumes by resourceVersion and relists after 410 Gone without delivering anything twice."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from agents.context import ClusterRef
from agents.toolsets.kubernetes.events_watch import WarningEvent, WarningEventWatch
from app.clusters import ClusterRegistry
from app.incidents.alerts import AlertClassifier, ClusterNaming
from app.incidents.grouping import PodNameResolver
from app.incidents.queue import IntakeQueue, QueuePolicy
from app.incidents.store import IncidentStore
from app.intake.k8s_events import WarningEventIntake
from app.settings import Settings
from sim.runtime import start_sim
from tests.support.intake import wait_until


async def test_warning_events_open_one_incident_per_broken_workload(db_pool: Any, settings: Settings) -> None:
    with start_sim("crashloop_missing_env") as sim:
        configured = settings.model_copy(update={"kubeconfig": sim.kubeconfig_path, "k8s_events_enabled": True,
                                                 "k8s_events_namespaces": ["payments"]})
        clusters = ClusterRegistry.from_settings(configured)
        store = IncidentStore(db_pool, IntakeQueue(db_pool, QueuePolicy()), join_window_seconds=300,
                              cluster_error=clusters.unknown_reason)
        intake = WarningEventIntake(configured, clusters, store,
                                    AlertClassifier(ClusterNaming(), PodNameResolver()), watch_timeout_seconds=2)
        await intake.start()
        try:
            deadline = time.monotonic() + 30
            rows: list[dict[str, Any]] = []
            while time.monotonic() < deadline and not rows:
                async with db_pool.connection() as conn:
                    rows = await (await conn.execute(
                        "SELECT id, cluster, namespace, resource_kind, resource_name, family FROM incidents")).fetchall()
                await asyncio.sleep(0.1)  # polling a condition with a deadline
        finally:
            await intake.stop()
        async with db_pool.connection() as conn:
            rows = await (await conn.execute(
                "SELECT cluster, namespace, resource_kind, resource_name, family FROM incidents")).fetchall()
            alerts = await (await conn.execute("SELECT alertname, source FROM incident_alerts")).fetchall()
    assert rows == [{"cluster": "default", "namespace": "payments", "resource_kind": "Deployment",
                     "resource_name": "payment-processing-worker", "family": "workload"}]
    assert {a["source"] for a in alerts} == {"k8s_event"}
    assert "BackOff" in {a["alertname"] for a in alerts}


def _collect(watch: WarningEventWatch, stop: threading.Event, into: list[WarningEvent]) -> threading.Thread:
    def pump() -> None:
        for event in watch.stream(stop):  # one by one, so the test sees progress
            into.append(event)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def test_watch_relists_after_410_gone_and_delivers_each_event_once(tmp_path: Path) -> None:
    with start_sim("crashloop_missing_env", kubeconfig_dir=tmp_path) as sim:
        watch = WarningEventWatch(ClusterRef("sim", sim.kubeconfig_path), "payments", timeout_seconds=1)
        seen: list[WarningEvent] = []
        stop = threading.Event()
        thread = _collect(watch, stop, seen)
        try:
            listed = wait_until(lambda: len(seen), what="the initial list of Warning events")
            # Churn past the server's watch history (2000 changes) so the next resume is too old.
            for n in range(2100):
                sim.store.put({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "churn", "namespace": "default"}, "data": {"n": str(n)}})
            wait_until(lambda: watch.relists >= 1, timeout=30, what="a 410 Gone and a relist")
            sim.store.create({
                "apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "FailedMount", "count": 1,
                "message": "MountVolume.SetUp failed for volume \"config\": configmap \"x\" not found",
                "metadata": {"name": "fresh.1", "namespace": "payments"},
                "involvedObject": {"kind": "Pod", "namespace": "payments", "name": "fresh-pod"},
                "firstTimestamp": "2026-11-22T08:40:57Z", "lastTimestamp": "2026-11-22T08:40:57Z",
            })
            wait_until(lambda: any(e.reason == "FailedMount" for e in seen), what="the event after the relist")
        finally:
            stop.set()
            thread.join(10)
    keys = [(e.uid, e.count) for e in seen]
    assert len(keys) == len(set(keys)), "an event was delivered twice across the relist"
    assert len(seen) == listed + 1


async def test_an_event_read_during_a_database_outage_is_stored_once_it_is_back(
        db_pool: Any, settings: Settings, database_url: str, postgres_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    dbname = conninfo_to_dict(database_url)["dbname"]
    with start_sim("crashloop_missing_env") as sim, psycopg.connect(postgres_url, autocommit=True) as admin:
        configured = settings.model_copy(update={"kubeconfig": sim.kubeconfig_path, "k8s_events_enabled": True,
                                                 "k8s_events_namespaces": ["payments"]})
        clusters = ClusterRegistry.from_settings(configured)
        store = IncidentStore(db_pool, IntakeQueue(db_pool, QueuePolicy()), join_window_seconds=300,
                              cluster_error=clusters.unknown_reason, acquire_timeout=0.5)
        intake = WarningEventIntake(configured, clusters, store,
                                    AlertClassifier(ClusterNaming(), PodNameResolver()), watch_timeout_seconds=2)
        admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))
        try:
            with caplog.at_level(logging.WARNING, logger="app.intake.k8s_events"):
                await intake.start()
                await _until(lambda: any("not stored yet" in r.getMessage() for r in caplog.records),
                             "the intake to meet the outage")
        finally:
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
        try:
            async def stored() -> list[dict[str, Any]]:
                async with db_pool.connection() as conn:
                    return await (await conn.execute("SELECT resource_name FROM incidents")).fetchall()
            rows = await _until_async(stored, "the event to be stored after the outage")
        finally:
            await intake.stop()
    assert rows == [{"resource_name": "payment-processing-worker"}]


async def _until(predicate: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)  # polling a condition with a deadline


async def _until_async(probe: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if value := await probe():
                return value
        except Exception:  # the pool is still reconnecting
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)  # polling a condition with a deadline
