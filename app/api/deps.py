"""Dependencies the route modules share, as `Annotated` aliases.

They are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread pool, and four
thread hops per request cost more than the whole database transaction of a webhook delivery.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.approvals.store import ApprovalStore
from app.db.lifecycle import Database
from app.help.store import HelpStore
from app.incidents.alerts import AlertClassifier
from app.incidents.feedback import FeedbackStore
from app.incidents.store import IncidentStore
from app.settings import Settings


async def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _incidents(request: Request) -> IncidentStore:
    store: IncidentStore = request.app.state.incidents
    return store


async def _classifier(request: Request) -> AlertClassifier:
    classifier: AlertClassifier = request.app.state.classifier
    return classifier


async def _approvals(request: Request) -> ApprovalStore:
    store: ApprovalStore = request.app.state.approvals
    return store


async def _help(request: Request) -> HelpStore:
    store: HelpStore = request.app.state.help
    return store


async def _feedback(request: Request) -> FeedbackStore:
    store: FeedbackStore = request.app.state.feedback
    return store


DatabaseDep = Annotated[Database, Depends(_database)]
SettingsDep = Annotated[Settings, Depends(_settings)]
Incidents = Annotated[IncidentStore, Depends(_incidents)]
Classifier = Annotated[AlertClassifier, Depends(_classifier)]
Approvals = Annotated[ApprovalStore, Depends(_approvals)]
HelpRequests = Annotated[HelpStore, Depends(_help)]
Feedback = Annotated[FeedbackStore, Depends(_feedback)]
