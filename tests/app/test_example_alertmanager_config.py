"""The shipped example Alertmanager configuration, run by a real Alertmanager against opsgraph.

Only what cannot work in a test is changed: the webhook URL, the token file's path, and the
opsgraph route's waits (30 s becomes 1 s). Routing, matchers, `continue`, `send_resolved` and the
bearer token read from a file are the example's own.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from ruamel.yaml import YAML

from app.main import create_app
from app.settings import Settings
from tests.support.alertmanager import running_alertmanager
from tests.support.intake import WEBHOOK_TOKEN, ThreadedService, query, wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager" / "alertmanager.example.yml"


def example_config(webhook_url: str, token_file: Path) -> str:
    yaml = YAML(typ="safe")
    config = yaml.load(EXAMPLE.read_text())
    (opsgraph,) = [r for r in config["receivers"] if r["name"] == "opsgraph"]
    (hook,) = opsgraph["webhook_configs"]
    hook["url"] = webhook_url
    hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    (route,) = [r for r in config["route"]["routes"] if r["receiver"] == "opsgraph"]
    route.update(group_wait="1s", group_interval="1s")
    out = io.StringIO()
    yaml.dump(config, out)
    return out.getvalue()


def alert(alertname: str, severity: str, **labels: str) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    return {"labels": {"alertname": alertname, "severity": severity, **labels}, "annotations": {},
            "startsAt": (now - timedelta(minutes=1)).isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat()}


def test_the_example_config_sends_warnings_to_opsgraph_and_keeps_paging(settings: Settings,
                                                                          database_url: str, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(WEBHOOK_TOKEN)
    configured = settings.model_copy(update={"webhook_token": SecretStr(WEBHOOK_TOKEN), "workers": 0})
    with ThreadedService(lambda: create_app(configured)) as service, running_alertmanager(
            example_config(service.url + "/webhooks/alertmanager", token_file), tmp_path / "am") as alertmanager:
        alertmanager.post_alerts([
            alert("KubePodCrashLooping", "warning", namespace="shop", pod="cart-7f9c6d5b8-k2x4q"),
            alert("CPUThrottlingHigh", "info", namespace="shop", pod="cart-7f9c6d5b8-k2x4q"),
        ])
        wait_until(lambda: query(database_url, "SELECT alertname FROM incident_alerts"), timeout=60,
                   what="the warning to reach opsgraph through the example config")
        receivers = {a["labels"]["alertname"]: sorted(r["name"] for r in a["receivers"])
                     for a in httpx.get(alertmanager.url + "/api/v2/alerts", timeout=10).json()}
    assert receivers == {"KubePodCrashLooping": ["default", "opsgraph"], "CPUThrottlingHigh": ["default"]}
    assert [r["alertname"] for r in query(database_url, "SELECT alertname FROM incident_alerts")] == [
        "KubePodCrashLooping"]
