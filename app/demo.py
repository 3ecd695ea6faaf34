"""`opsgraph demo`: the whole story on embedded defaults, with nothing configured.

An embedded Postgres, a simulated cluster running the scenario, and the service on loopback; the
scenario's alert is posted to the webhook as Alertmanager would, and the incident's diagnosis is
read back over the API. Stages still to come (plan → approval → pull request) extend `tell_story`.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import httpx
from pydantic import SecretStr

from app.eval.payload import webhook_payload
from app.eval.report import shared_database
from app.eval.runner import settled_incident
from app.inprocess import serving
from app.observability import configure_logging
from app.settings import Settings
from sim.runtime import RunningSim, start_sim
from sim.scenario import find_scenario
from sim.tables import pod_status

Say = Callable[[str], None]


def run_demo(settings: Settings, *, scenario: str, unattended: bool, port: int, out: TextIO = sys.stdout) -> int:
    return asyncio.run(_demo(settings, scenario=scenario, unattended=unattended, port=port, out=out))


async def _demo(settings: Settings, *, scenario: str, unattended: bool, port: int, out: TextIO) -> int:
    configure_logging("WARNING", "text")  # the demo talks to a person; the service's logs stay quiet
    started = time.monotonic()

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    token = secrets.token_urlsafe(16)
    with start_sim(find_scenario(scenario)) as cluster:
        say(f"simulated cluster '{cluster.scenario.name}' at {cluster.url}")
        say(f"  kubeconfig: {cluster.kubeconfig_path}")
        say(f"  {cluster.scenario.description.strip().splitlines()[0]}")
        where = "embedded Postgres in " + str(settings.data_dir) if settings.database_url is None else "DATABASE_URL"
        async with shared_database(settings) as shared:
            demo_settings = shared.model_copy(update={
                "kubeconfig": cluster.kubeconfig_path, "workers": 1, "k8s_events_enabled": False,
                "webhook_token": settings.webhook_token or SecretStr(token),
                "api_token": settings.api_token or SecretStr(token)})
            async with serving(demo_settings, port=port) as url:
                say(f"opsgraph service at {url} ({where})")
                await tell_story(url, cluster, demo_settings, say)
                say(f"demo told in {time.monotonic() - started:.1f} s")
                if not unattended:
                    say("the service keeps running; Ctrl-C stops it, the cluster and the database.")
                    await asyncio.Event().wait()
    return 0


async def tell_story(url: str, cluster: RunningSim, settings: Settings, say: Say) -> None:
    say("pods in the simulated cluster:")
    for pod in cluster.store.list("Pod"):
        status, ready, total, restarts, _ = pod_status(pod)
        meta = pod["metadata"]
        say(f"  {meta['namespace']:<14} {meta['name']:<40} {ready}/{total}  {status:<18} restarts={restarts}")
    assert settings.webhook_token is not None and settings.api_token is not None
    alerts = [a.model_dump(mode="json", exclude_none=True) for a in cluster.scenario.alerts]
    payload = webhook_payload(alerts, cluster=settings.default_cluster, cluster_label=settings.cluster_label)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        hook = {"Authorization": f"Bearer {settings.webhook_token.get_secret_value()}"}
        accepted = (await client.post("/webhooks/alertmanager", json=payload, headers=hook)).json()
        names = ", ".join(a["labels"]["alertname"] for a in alerts)
        joined = "" if accepted.get("opened") else " (joined the open incident for this workload)"
        say(f"Alertmanager -> POST /webhooks/alertmanager ({names}): incident {accepted['incident_ids']}{joined}")
        client.headers["Authorization"] = f"Bearer {settings.api_token.get_secret_value()}"
        incident = await settled_incident(client, accepted["incident_ids"][0])
    _show_diagnosis(incident, say)


def _show_diagnosis(incident: dict[str, Any], say: Say) -> None:
    diagnosis = incident.get("diagnosis") or {}
    say(f"incident {incident['id']} ({incident['priority']}, {incident['status']}): {diagnosis.get('category')} "
        f"(confidence {diagnosis.get('confidence', 0):.2f}, {diagnosis.get('source')})")
    say(f"  root cause: {diagnosis.get('root_cause')}")
    for item in (diagnosis.get("evidence") or [])[:3]:
        say(f"  evidence [{item['tool']}]: {item['excerpt'][:120]}")
    for fix in diagnosis.get("suggested_fixes") or []:
        say(f"  proposed fix: {fix['resource']['kind']}/{fix['resource']['name']} {fix['field_path']} -> "
            f"{fix['new_value']}  ({fix['rationale']})")
    say("  timeline: " + " -> ".join(e["kind"] for e in incident.get("timeline") or []))
