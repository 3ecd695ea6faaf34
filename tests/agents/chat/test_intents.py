"""The deterministic intent parser: the common forms, and everything else as a free question."""

from __future__ import annotations

from typing import Any

import pytest

from agents.chat.intents import parse_intent


@pytest.mark.parametrize(("text", "expected"), [
    ("why is payment-api failing in shop?", {"route": "diagnostics", "name": "payment-api", "namespace": "shop",
                                             "kind": "Deployment"}),
    ("Why is the statefulset db-0 crashlooping in namespace data", {"route": "diagnostics", "kind": "StatefulSet",
                                                                    "name": "db-0", "namespace": "data"}),
    ("why is web not ready in prod", {"route": "diagnostics", "name": "web", "namespace": "prod"}),
    ("what runs in shop", {"route": "qa", "form": "what_runs", "namespace": "shop"}),
    ("What's running in the namespace kube-system?", {"route": "qa", "form": "what_runs", "namespace": "kube-system"}),
    ("write a deployment for nginx:1.27.3 with 3 replicas on port 8080 in namespace web",
     {"route": "yaml", "form": "write_manifest", "kind": "Deployment", "image": "nginx:1.27.3", "replicas": 3,
      "port": 8080, "namespace": "web"}),
    ("generate a cronjob for ghcr.io/acme/report:1.0 named nightly", {"kind": "CronJob", "name": "nightly",
                                                                       "image": "ghcr.io/acme/report:1.0"}),
    ("check this manifest:\napiVersion: v1\nkind: Pod", {"route": "yaml", "form": "check_manifest",
                                                         "manifest": "apiVersion: v1\nkind: Pod"}),
    ("does this look right?\n```yaml\nkind: Pod\n```", {"form": "check_manifest", "manifest": "kind: Pod\n"}),
    ("apiVersion: v1\nkind: Service\n", {"form": "check_manifest"}),
    ("delete deployment web in shop now", {"route": "qa", "form": "question"}),
    ("", {"route": "qa", "form": "question"}),
], ids=["why", "why-kind", "why-not-ready", "what-runs", "whats-running", "write", "write-cronjob", "check",
        "fenced", "bare-yaml", "hostile", "empty"])
def test_parse_intent(text: str, expected: dict[str, Any]) -> None:
    intent = parse_intent(text).model_dump()
    assert {key: intent[key] for key in expected} == expected
