"""Which database errors mean "away for now" (retry) and which mean "this statement failed" (do not)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors
from psycopg_pool import PoolTimeout

from app.db.pool import DatabaseUnavailable, is_outage


@pytest.mark.parametrize("error", [
    PoolTimeout("couldn't get a connection after 5.00 sec"),
    DatabaseUnavailable("database unreachable at /tmp/pg"),
    psycopg.OperationalError("connection is lost"),
    errors.AdminShutdown("terminating connection due to administrator command"),
    errors.ConnectionFailure("server closed the connection unexpectedly"),
    errors.CannotConnectNow("the database system is starting up"),
], ids=lambda e: type(e).__name__)
def test_an_outage_is_retried(error: Exception) -> None:
    assert is_outage(error)


@pytest.mark.parametrize("error", [
    errors.QueryCanceled("canceling statement due to statement timeout"),
    errors.DiskFull("could not extend file"),
    errors.DeadlockDetected("deadlock detected"),
    errors.UniqueViolation("duplicate key"),
    ValueError("not a database error"),
], ids=lambda e: type(e).__name__)
def test_a_failing_statement_is_not_an_outage(error: Exception) -> None:
    assert not is_outage(error)
