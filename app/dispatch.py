"""KindRouter: one `IncidentRunner` for the worker pool that hands each work item to the runner of its kind.

Work item kinds are free text (`diagnose` from intake, `verify` after a merge). The lifespan builds
`KindRouter({"verify": verification_runner}, default=graph_runner)` and gives it to `WorkerPool`.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.incidents.queue import RunOutcome, WorkItem
from app.workers import IncidentRunner


class KindRouter:
    def __init__(self, runners: Mapping[str, IncidentRunner], default: IncidentRunner | None = None) -> None:
        self.runners = dict(runners)
        self.default = default

    async def run(self, item: WorkItem, *, resume: bool) -> RunOutcome:
        runner = self.runners.get(item.kind, self.default)
        if runner is None:
            known = ", ".join(sorted(self.runners)) or "none"
            return RunOutcome.failed(f"no runner for work of kind {item.kind!r} (kinds: {known})")
        return await runner.run(item, resume=resume)
