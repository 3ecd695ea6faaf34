"""The incident card carries the incident memory's sentence: seen before, and whether the last fix held."""

from __future__ import annotations

import json

from app.slack.cards import incident_card

INCIDENT = {"id": 42, "status": "awaiting_human", "cluster": "prod", "namespace": "shop", "resource_kind": "Deployment",
            "resource_name": "checkout", "priority": 2, "title": "KubePodCrashLooping checkout",
            "status_reason": "the same fix did not hold last time"}


def test_a_fix_that_did_not_hold_is_on_the_card() -> None:
    diagnosis = {"category": "oom_killed", "root_cause": "OOMKilled at 256Mi", "confidence": 0.9, "evidence": [],
                 "history": {"times": 1, "items": [{"incident_id": 17, "ended_at": "2026-12-01T03:10:00Z",
                                                    "category": "oom_killed", "pr_number": 12,
                                                    "pr_url": "https://github.example/acme/gitops/pull/12",
                                                    "held": False, "outcome": "reopened after merge"}]}}
    _, blocks = incident_card({**INCIDENT, "diagnosis": diagnosis})
    text = json.dumps(blocks)
    assert "seen before: 1 time (last: incident 17" in text and "did not hold" in text


def test_no_history_no_line() -> None:
    diagnosis = {"category": "oom_killed", "root_cause": "OOMKilled", "confidence": 0.9, "evidence": []}
    _, blocks = incident_card({**INCIDENT, "diagnosis": diagnosis})
    assert "seen before" not in json.dumps(blocks)
