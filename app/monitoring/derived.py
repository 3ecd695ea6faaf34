"""`opsgraph eval --alerts derived`: the scenario's alerts come from real monitoring, not from its file.

Prometheus scrapes the scenario's simulated cluster and evaluates the kubernetes-mixin rules (test
profile); Alertmanager posts to the service under evaluation, which opens incidents exactly as in
production. After the fix is synced the same pipeline sends the resolved notifications, and the
service closes the incidents on them: a fix whose alerts never resolve fails the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from app.monitoring.honesty import SETTLE_SECONDS
from app.monitoring.pipeline import SCRAPE_JOBS, MonitoringPipeline, ScrapeTarget, Webhook, start_monitoring
from sim.runtime import RunningSim

FIRE_DEADLINE_SECONDS = 90.0
RESOLVE_DEADLINE_SECONDS = 120.0  # the test profile's 30s windows and `for:` after the last bad scrape
QUIET_SECONDS = 3.0  # no new incident for this long after Alertmanager delivered everything = all opened


@dataclass
class DerivedAlerts:
    pipeline: MonitoringPipeline

    def _firing(self) -> list[dict[str, Any]]:
        return self.pipeline.alerts(state=None)

    async def opened_incidents(self, client: httpx.AsyncClient, cluster: str) -> list[int]:
        """The incidents the pipeline's alerts opened: once Prometheus has settled (nothing pending),
        Alertmanager holds every firing alert, and no new incident has appeared for QUIET_SECONDS."""
        await asyncio.to_thread(self.pipeline.wait_for_scrapes, len(SCRAPE_JOBS))
        scraped = time.monotonic()
        deadline = scraped + FIRE_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            alerts = await asyncio.to_thread(self._firing)
            if time.monotonic() - scraped >= SETTLE_SECONDS and not any(a["state"] == "pending" for a in alerts):
                break
            await asyncio.sleep(0.5)
        firing = {a["labels"].get("alertname") for a in await asyncio.to_thread(self._firing) if a["state"] == "firing"}
        seen: list[int] = []
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            ids = await _incident_ids(client, cluster)
            if ids != seen:
                seen, quiet_since = ids, time.monotonic()
            delivered = await asyncio.to_thread(self._delivered)
            if (seen or not firing) and firing <= delivered and time.monotonic() - quiet_since >= QUIET_SECONDS:
                return seen
            await asyncio.sleep(0.25)
        return seen

    def _delivered(self) -> set[str]:
        assert self.pipeline.alertmanager_url is not None
        reply = httpx.get(self.pipeline.alertmanager_url + "/api/v2/alerts", params={"active": "true"}, timeout=10)
        reply.raise_for_status()
        return {a["labels"].get("alertname") for a in reply.json()}

    async def unresolved(self, client: httpx.AsyncClient, incident_ids: list[int],
                         team_alertnames: frozenset[str] = frozenset()) -> list[str]:
        """After the fix: one line per incident whose alerts the pipeline never resolved, with what still fires.
        A team's alerts (posted from the scenario file) are not the pipeline's to resolve."""
        deadline = time.monotonic() + RESOLVE_DEADLINE_SECONDS
        pending = list(incident_ids)
        while pending and time.monotonic() < deadline:
            pending = [i for i in pending if not await _resolved(client, i, team_alertnames)]
            if pending:
                await asyncio.sleep(0.5)
        if not pending:
            return []
        still = sorted({a["labels"].get("alertname", "?") for a in await asyncio.to_thread(self._firing)
                        if a["state"] == "firing"})
        return [f"incident {i}: no resolved notification within {RESOLVE_DEADLINE_SECONDS:.0f} s of the fix "
                f"(still firing: {', '.join(still) or 'nothing'})" for i in pending]


async def _incident_ids(client: httpx.AsyncClient, cluster: str) -> list[int]:
    reply = await client.get("/incidents", params={"cluster": cluster, "limit": 500})
    reply.raise_for_status()
    return sorted(int(i["id"]) for i in reply.json()["items"])


async def _resolved(client: httpx.AsyncClient, incident_id: int, team_alertnames: frozenset[str]) -> bool:
    """Every pipeline alert of the incident has had its resolved notification (the intake records each one)."""
    alerts = (await client.get(f"/incidents/{incident_id}")).json().get("alerts") or []
    return all(a.get("status") == "resolved" for a in alerts if a.get("alertname") not in team_alertnames)


@contextlib.asynccontextmanager
async def derived_alerts(sim: RunningSim, service_url: str, token: str, cluster: str, *, enabled: bool
                         ) -> AsyncIterator[DerivedAlerts | None]:
    """The pipeline on `sim`, its series labelled `cluster`, posting to the service at `service_url`; None when
    not `enabled`. The label keeps each run's alerts (same names, same pods) apart in a shared database."""
    if not enabled:
        yield None
        return
    webhook = Webhook(service_url + "/webhooks/alertmanager", token)
    with start_monitoring([ScrapeTarget(sim.url, cluster)], webhook=webhook) as pipeline:
        yield DerivedAlerts(pipeline)
