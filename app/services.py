"""What the service's lifespan opened (the database, the stores, the queue, the clusters), handed to the
parts built from it: the incident runner and the post-merge verification.

Its own module so those parts depend on it and not on `app.main`, which builds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.approvals.store import ApprovalStore
from app.clusters import ClusterRegistry
from app.db.lifecycle import Database
from app.incidents.queue import IntakeQueue
from app.incidents.store import IncidentStore
from app.settings import Settings


@dataclass(frozen=True)
class Services:
    """What the lifespan opened, handed to the runner factory (the supervisor is built from these)."""

    settings: Settings
    database: Database
    incidents: IncidentStore
    queue: IntakeQueue
    clusters: ClusterRegistry
    approvals: ApprovalStore
