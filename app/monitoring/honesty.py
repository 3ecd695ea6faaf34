"""The scenario honesty check: does real monitoring fire the alert a scenario declares?

Every scenario is served by its own simulator; one Prometheus scrapes them all (each cluster's series carry
`cluster="<scenario>"`) and evaluates the kubernetes-mixin rules' test profile. A scenario passes when each
alert it declares fires with the same name and the same labels (every declared label but the scrape's
own: job, instance, endpoint, service, prometheus, cluster), and a scenario that declares no alert fires
none. Alerts marked `source: team` are the team's own rules, not the mixin's: they are listed with their
reason and not looked for. Alerts that fire beyond the declared ones are shown, not failed: a real
cluster in that state fires them too.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.monitoring.pipeline import SCRAPE_JOBS, ScrapeTarget, start_monitoring
from sim.runtime import RunningSim, start_sim
from sim.scenario import Scenario, load_scenario

# Labels the scrape adds (kube-prometheus-stack's service/endpoint, our fixed instance) rather than the rule.
SCRAPE_LABELS = frozenset({"job", "instance", "endpoint", "service", "prometheus", "cluster", "metrics_path"})
SETTLE_SECONDS = 5.0  # seconds of 1s scrapes and evaluations before "nothing is pending" means anything
DEADLINE_SECONDS = 90.0


@dataclass
class HonestyResult:
    scenario: str
    declared: list[dict[str, str]] = field(default_factory=list)
    team: list[tuple[dict[str, str], str]] = field(default_factory=list)
    fired: list[dict[str, str]] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)

    @property
    def unexpected(self) -> list[dict[str, str]]:
        """Alerts firing in a scenario that declares none (a healthy one)."""
        return [] if self.declared or self.team else list(self.fired)

    @property
    def extra(self) -> list[dict[str, str]]:
        return [f for f in self.fired if not any(_matches(d, f) for d in self.declared)]

    @property
    def passed(self) -> bool:
        return not self.missing and not self.unexpected

    def explain(self) -> str:
        lines = [f"{self.scenario}: {'ok' if self.passed else 'MISMATCH'}"]
        for declared in self.missing:
            lines.append(f"  declared but not fired: {_show(declared)}")
            same_name = [f for f in self.fired if f.get("alertname") == declared.get("alertname")]
            for candidate in same_name:
                lines.append(f"    fired instead: {_show(_key(candidate, declared))}  ({_difference(declared, candidate)})")
            if not same_name:
                lines.append(f"    no {declared.get('alertname')} fired at all")
        for alert in self.unexpected:
            lines.append(f"  fired but the scenario declares no alert: {_show(_key(alert))}")
        for alert, reason in self.team:
            lines.append(f"  team alert {alert.get('alertname')} (not the mixin's): {reason.strip()}")
        if self.extra and not self.unexpected:
            lines.append("  also fires: " + ", ".join(sorted({_show(_key(a), short=True) for a in self.extra})))
        return "\n".join(lines)


def _key(alert: dict[str, str], like: dict[str, str] | None = None) -> dict[str, str]:
    keys = [k for k in alert if k not in SCRAPE_LABELS]
    if like is not None:
        keys = [k for k in keys if k in like or k == "alertname"]
    return {k: alert[k] for k in keys}


def _matches(declared: dict[str, str], fired: dict[str, str]) -> bool:
    return all(fired.get(k) == v for k, v in declared.items() if k not in SCRAPE_LABELS)


def _difference(declared: dict[str, str], fired: dict[str, str]) -> str:
    diffs = [f"{k}: declared {v!r}, fired {fired.get(k)!r}" for k, v in declared.items()
             if k not in SCRAPE_LABELS and fired.get(k) != v]
    return "; ".join(diffs)


def _show(labels: dict[str, str], short: bool = False) -> str:
    name = labels.get("alertname", "?")
    keys = ("namespace", "pod", "deployment", "statefulset", "daemonset", "job_name", "node",
            "horizontalpodautoscaler", "persistentvolumeclaim", "resourcequota") if short else sorted(labels)
    inner = ", ".join(f'{k}="{labels[k]}"' for k in keys if k in labels and k != "alertname")
    return f"{name}{{{inner}}}"


def _declared(scenario: Scenario) -> tuple[list[dict[str, str]], list[tuple[dict[str, str], str]]]:
    mixin, team = [], []
    for alert in scenario.alerts:
        if alert.status != "firing":
            continue
        if alert.source == "team":
            team.append((dict(alert.labels), alert.source_reason or ""))
        else:
            mixin.append(dict(alert.labels))
    return mixin, team


def check_scenarios(paths: Iterable[Path], *, deadline_seconds: float = DEADLINE_SECONDS) -> tuple[list[HonestyResult], float]:
    """Run the check on every scenario in one batch; returns the results and the wall time in seconds."""
    started = time.monotonic()
    scenarios = [load_scenario(p) for p in paths]
    results = {s.name: HonestyResult(s.name, *_declared(s)) for s in scenarios}
    with contextlib.ExitStack() as stack:
        sims: list[RunningSim] = [stack.enter_context(start_sim(s)) for s in scenarios]
        pipeline = stack.enter_context(start_monitoring([ScrapeTarget(sim.url, sim.scenario.name) for sim in sims]))
        pipeline.wait_for_scrapes(len(SCRAPE_JOBS) * len(sims))
        scraped = time.monotonic()
        deadline = scraped + deadline_seconds
        while True:
            alerts = pipeline.alerts(state=None)
            firing = _by_cluster([a for a in alerts if a.get("state") == "firing"])
            pending = [a for a in alerts if a.get("state") == "pending" and a["labels"].get("cluster") in results]
            # The clusters are snapshots: once every rule has been evaluated on a few scrapes and nothing is
            # pending any more, what fires is all that will fire.
            settled = time.monotonic() - scraped >= SETTLE_SECONDS and not pending
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    for name, result in results.items():
        result.fired = firing.get(name, [])
        result.missing = [d for d in result.declared if not any(_matches(d, f) for f in result.fired)]
    return list(results.values()), time.monotonic() - started


def _by_cluster(alerts: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for alert in alerts:
        labels = dict(alert.get("labels") or {})
        if "cluster" not in labels:
            continue
        out.setdefault(labels["cluster"], []).append(labels)
    return out
