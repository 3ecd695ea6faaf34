"""Turn a scenario's alerts into the Alertmanager v4 webhook payload Alertmanager itself would send."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any


def fingerprint(labels: dict[str, str]) -> str:
    """A stable 16-hex-digit id from the label set, like Alertmanager's own."""
    canonical = "\xff".join(f"{k}\xfe{labels[k]}" for k in sorted(labels))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def webhook_payload(alerts: list[dict[str, Any]], *, cluster: str, cluster_label: str) -> dict[str, Any]:
    """One grouped delivery of the scenario's firing alerts, labelled with the eval's cluster id."""
    started = (datetime.now(UTC) - timedelta(minutes=16)).isoformat().replace("+00:00", "Z")
    entries = []
    for alert in alerts:
        labels = {**{k: str(v) for k, v in (alert.get("labels") or {}).items()}, cluster_label: cluster}
        entries.append({
            "status": "firing", "labels": labels, "annotations": alert.get("annotations") or {},
            "startsAt": alert.get("startsAt") or started, "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": alert.get("generatorURL") or "http://prometheus.monitoring:9090/graph",
            "fingerprint": alert.get("fingerprint") or fingerprint(labels),
        })
    common = {k: v for k, v in entries[0]["labels"].items() if all(e["labels"].get(k) == v for e in entries)}
    return {
        "version": "4", "status": "firing", "receiver": "opsgraph", "truncatedAlerts": 0,
        "groupKey": "{}:{" + ", ".join(f'{k}="{v}"' for k, v in sorted(common.items())) + "}",
        "groupLabels": {k: common[k] for k in ("alertname", "namespace") if k in common},
        "commonLabels": common, "commonAnnotations": {}, "externalURL": "http://alertmanager.eval:9093",
        "alerts": entries,
    }
