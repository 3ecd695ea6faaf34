"""Versioned, idempotent schema migrations, applied at start-up under an advisory lock.

Migrations are the files `migrations/NNNN_name.sql`, applied in order and recorded with a
checksum in `opsgraph_migrations`. LangGraph's checkpointer tables are set up under the same
lock, so two replicas starting at once never race.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)

# Any fixed number shared by every replica; "opsg" in ASCII.
MIGRATION_LOCK_ID = 0x6F707367
LOCK_WAIT_SECONDS = 300.0

CREATE_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS opsgraph_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
SELECT_APPLIED = "SELECT version, name, checksum FROM opsgraph_migrations ORDER BY version"
INSERT_APPLIED = "INSERT INTO opsgraph_migrations (version, name, checksum) VALUES (%s, %s, %s)"
SELECT_LATEST = "SELECT max(version) AS version FROM opsgraph_migrations"

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The database schema is not what this version of opsgraph expects."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """The shipped migrations, in order; a gap or duplicate version is a packaging bug."""
    found = []
    for entry in resources.files("app.db").joinpath("migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    found.sort(key=lambda m: m.version)
    expected = list(range(1, len(found) + 1))
    if [m.version for m in found] != expected:
        raise MigrationError(f"migration files are not numbered 1..N: {[m.version for m in found]}")
    return found


async def migrate(pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]]) -> int:
    """Apply pending migrations and the checkpointer's setup; return the schema version."""
    migrations = load_migrations()
    async with pool.connection() as conn:
        await _acquire_migration_lock(conn)
        try:
            await conn.execute(CREATE_VERSION_TABLE)
            applied = {row["version"]: row for row in await (await conn.execute(SELECT_APPLIED)).fetchall()}
            for migration in migrations:
                row = applied.get(migration.version)
                if row is not None:
                    if row["checksum"] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version:04d}_{migration.name} was changed after it was "
                            "applied; add a new migration instead of editing an applied one"
                        )
                    continue
                async with conn.transaction():
                    # A file holds several statements, which a prepared statement cannot.
                    await conn.execute(migration.sql, prepare=False)
                    await conn.execute(INSERT_APPLIED, (migration.version, migration.name, migration.checksum))
                log.info("applied migration", extra={"migration": f"{migration.version:04d}_{migration.name}"})
            unknown = sorted(set(applied) - {m.version for m in migrations})
            if unknown:
                raise MigrationError(
                    f"the database has migrations {unknown} this opsgraph does not know; it is older "
                    "than the schema — upgrade opsgraph"
                )
            await AsyncPostgresSaver(pool).setup()  # type: ignore[arg-type]
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
    return migrations[-1].version


async def _acquire_migration_lock(conn: AsyncConnection[dict[str, Any]]) -> None:
    """Take the session-level migration lock, polling rather than blocking.

    A replica blocked inside pg_advisory_lock() holds an open transaction, and the
    checkpointer's CREATE INDEX CONCURRENTLY waits for every open transaction to end: a
    blocking wait would deadlock the two. Short try-lock statements do not.
    """
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    delay = 0.05
    while True:
        row = await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (MIGRATION_LOCK_ID,))).fetchone()
        if row and row["ok"]:
            return
        if time.monotonic() + delay > deadline:
            raise MigrationError(
                f"another opsgraph process has held the migration lock for over {LOCK_WAIT_SECONDS:.0f} s; "
                "is a migration stuck? (pg_locks, objid " + str(MIGRATION_LOCK_ID) + ")"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def schema_version(conn: AsyncConnection[dict[str, Any]]) -> int | None:
    """The latest applied migration, or None when the database has never been migrated."""
    exists = await (await conn.execute("SELECT to_regclass('opsgraph_migrations') AS t")).fetchone()
    if not exists or exists["t"] is None:
        return None
    row = await (await conn.execute(SELECT_LATEST)).fetchone()
    return row["version"] if row else None


def latest_version() -> int:
    return load_migrations()[-1].version
