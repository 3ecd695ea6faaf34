"""A storm of 50 alerts about two broken Deployments (plus 3 unrelated) is 5 incidents, each diagnosed once.

Two real service processes share the database; the deliveries are split between them and sent
concurrently, the way two replicas behind a Service receive Alertmanager's retries and groups.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from app.settings import Settings
from tests.support.checkpoint_runner import create_probe_tables
from tests.support.intake import am_alert, am_payload, bearer, intake_env, query, runner_services, wait_until

PODS = {
    "checkout": ["checkout-7f9c6d5b8-k2x4q", "checkout-7f9c6d5b8-m8zzt", "checkout-7f9c6d5b8-p4w2v"],
    "web": ["web-5d9c8b7f6-bcdfg", "web-5d9c8b7f6-fghjk"],
}
FAMILY = ["KubePodCrashLooping", "KubePodNotReady", "KubeContainerWaiting"]


def storm() -> list[dict[str, Any]]:
    alerts = []
    for n in range(50):
        deployment = "checkout" if n % 5 < 3 else "web"
        pod = PODS[deployment][n % len(PODS[deployment])]
        if n % 10 == 9:  # the Deployment-level alerts of the same fault
            alerts.append(am_alert("KubeDeploymentReplicasMismatch", f"storm-{n}", namespace="shop",
                                   deployment=deployment, instance=str(n)))
        else:
            alerts.append(am_alert(FAMILY[n % 3], f"storm-{n}", namespace="shop", pod=pod, container=f"c{n}"))
    return alerts


UNRELATED = [
    am_alert("KubeNodeNotReady", "other-node", node="worker-2", severity="critical"),
    am_alert("KubePersistentVolumeFillingUp", "other-pvc", namespace="db", persistentvolumeclaim="data-redis-0"),
    am_alert("CPUThrottlingHigh", "other-cpu", namespace="shop", pod="checkout-7f9c6d5b8-k2x4q", container="x"),
]


def test_storm_becomes_five_incidents_each_diagnosed_once(settings: Settings, database_url: str,
                                                          tmp_path: Path) -> None:
    create_probe_tables(database_url)
    assert settings.database_url is not None
    env = intake_env(settings.database_url.get_secret_value(), OPSGRAPH_WORKERS="3",
                     OPSGRAPH_WORKER_POLL_SECONDS="0.5")
    alerts = storm() + UNRELATED
    deliveries = [alerts[i:i + 4] for i in range(0, len(alerts), 4)]  # 14 deliveries, mixed content
    with runner_services(env, tmp_path, 2) as services, ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(
            lambda n: httpx.post(services[n % 2].url + "/webhooks/alertmanager", json=am_payload(deliveries[n]),
                                 headers=bearer(), timeout=30),
            range(len(deliveries))))
        assert [r.status_code for r in replies] == [202] * len(deliveries), [r.text for r in replies]
        wait_until(lambda: query(database_url, "SELECT count(*) AS n FROM work_items WHERE status = 'done'")[0]["n"]
                   == 5, timeout=60, what="all five incidents to be diagnosed")
        assert query(database_url, "SELECT count(*) AS n FROM work_items WHERE status <> 'done'")[0]["n"] == 0

    incidents = query(database_url, "SELECT id, family, resource_kind, resource_name, namespace, priority "
                                    "FROM incidents ORDER BY id")
    shapes = sorted((i["family"], i["resource_kind"], i["resource_name"]) for i in incidents)
    assert shapes == [
        ("capacity", "Deployment", "checkout"),
        ("node", "Node", "worker-2"),
        ("storage", "PersistentVolumeClaim", "data-redis-0"),
        ("workload", "Deployment", "checkout"),
        ("workload", "Deployment", "web"),
    ]
    per_incident = query(database_url, "SELECT i.family, i.resource_name, count(a.*) AS alerts FROM incidents i "
                                       "JOIN incident_alerts a ON a.incident_id = i.id GROUP BY 1, 2 ORDER BY 1, 2")
    assert [(r["resource_name"], r["alerts"]) for r in per_incident if r["family"] == "workload"] == [
        ("checkout", 30), ("web", 20)]
    calls = query(database_url, "SELECT incident_id, count(*) AS n, bool_or(resume) AS resumed "
                                "FROM probe_runner_calls GROUP BY 1")
    assert sorted(c["incident_id"] for c in calls) == [i["id"] for i in incidents]
    assert all(c["n"] == 1 and not c["resumed"] for c in calls), calls
    effects = query(database_url, "SELECT node, count(*) AS n FROM probe_side_effects GROUP BY 1 ORDER BY 1")
    assert effects == [{"node": "conclude", "n": 5}, {"node": "investigate", "n": 5}, {"node": "waiting", "n": 5}]
