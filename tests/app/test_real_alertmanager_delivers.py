"""End to end with a real Alertmanager: grouped v4 deliveries become incidents; its own retries bridge
an opsgraph outage with nothing lost or doubled; resolved notifications close incidents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from app.main import create_app
from app.settings import Settings
from tests.support.alertmanager import RunningAlertmanager, running_alertmanager, webhook_config
from tests.support.intake import WEBHOOK_TOKEN, ThreadedService, query, wait_until

STARTED = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)


def alert(alertname: str, *, resolved: bool = False, **labels: str) -> dict[str, Any]:
    ends = datetime.now(UTC) - timedelta(seconds=1) if resolved else datetime.now(UTC) + timedelta(hours=1)
    return {"labels": {"alertname": alertname, "severity": "warning", **labels},
            "annotations": {"summary": alertname}, "startsAt": STARTED.isoformat(), "endsAt": ends.isoformat(),
            "generatorURL": "http://prometheus.test/graph"}


SHOP = [
    alert("KubePodCrashLooping", namespace="shop", pod="checkout-7f9c6d5b8-k2x4q", container="app"),
    alert("KubePodCrashLooping", namespace="shop", pod="checkout-7f9c6d5b8-m8zzt", container="app"),
    alert("KubeDeploymentReplicasMismatch", namespace="shop", deployment="checkout"),
]
NODE = [alert("KubeNodeNotReady", node="worker-1", severity="critical")]
PAYMENTS = [
    alert("KubeContainerWaiting", namespace="payments", pod="ledger-0", container="db"),
    alert("KubeStatefulSetReplicasMismatch", namespace="payments", statefulset="ledger"),
]


@pytest.fixture
def service(settings: Settings) -> Iterator[ThreadedService]:
    configured = settings.model_copy(update={"webhook_token": SecretStr(WEBHOOK_TOKEN), "workers": 0})
    with ThreadedService(lambda: create_app(configured)) as running:
        yield running


@pytest.fixture
def alertmanager(service: ThreadedService, tmp_path: Path) -> Iterator[RunningAlertmanager]:
    config = webhook_config(service.url + "/webhooks/alertmanager", WEBHOOK_TOKEN)
    with running_alertmanager(config, tmp_path / "alertmanager") as running:
        yield running


def incidents(database_url: str) -> list[tuple[str, str, str]]:
    rows = query(database_url, "SELECT family, resource_name, status FROM incidents ORDER BY id")
    return [(r["family"], r["resource_name"], r["status"]) for r in rows]


def alert_count(database_url: str) -> int:
    return int(query(database_url, "SELECT count(*) AS n FROM incident_alerts")[0]["n"])


def test_real_alertmanager_end_to_end(service: ThreadedService, alertmanager: RunningAlertmanager,
                                      database_url: str) -> None:
    alertmanager.post_alerts(SHOP + NODE)
    wait_until(lambda: alert_count(database_url) == 4, what="Alertmanager's grouped deliveries")
    assert sorted(incidents(database_url)) == [("node", "worker-1", "open"), ("workload", "checkout", "open")]
    groups = query(database_url, "SELECT DISTINCT group_key FROM alert_payloads")
    assert len(groups) == 2  # grouped by namespace: shop, and the cluster-wide node alert

    # opsgraph goes away; Alertmanager's notification fails and it keeps retrying on its own.
    service.stop()
    failed_before = alertmanager.failed_notifications()
    alertmanager.post_alerts(PAYMENTS)
    wait_until(lambda: alertmanager.failed_notifications() > failed_before, timeout=30,
               what="Alertmanager to fail delivering to the stopped opsgraph")
    service.start()
    wait_until(lambda: alert_count(database_url) == 6, timeout=60, what="Alertmanager's retry after the outage")
    assert ("workload", "ledger", "open") in incidents(database_url)
    assert len(incidents(database_url)) == 3

    # send_resolved: the shop alerts clear and their incident closes; the others stay open.
    alertmanager.post_alerts([alert(a["labels"]["alertname"], resolved=True,
                                    **{k: v for k, v in a["labels"].items() if k != "alertname"}) for a in SHOP])
    wait_until(lambda: ("workload", "checkout", "resolved") in incidents(database_url), timeout=60,
               what="the resolved notification to close the checkout incident")
    assert alert_count(database_url) == 6  # a resolution updates the alert rows, it adds none
    statuses = {name: status for _, name, status in incidents(database_url)}
    assert statuses == {"checkout": "resolved", "worker-1": "open", "ledger": "open"}
    resolved = query(database_url, "SELECT a.status FROM incident_alerts a JOIN incidents i ON i.id = a.incident_id "
                                   "WHERE i.resource_name = 'checkout'")
    assert [r["status"] for r in resolved] == ["resolved"] * 3
