"""Schema migrations on a real Postgres: applied once, idempotent, race-free, tamper-evident."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from app.db import migrate as migrate_module
from app.db.migrate import Migration, MigrationError, latest_version, load_migrations, migrate
from app.db.pool import connection_kwargs


def _pool(url: str) -> AsyncConnectionPool[Any]:
    return AsyncConnectionPool(url, kwargs=connection_kwargs(False), open=False, max_size=4)


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


async def test_fresh_database_gets_schema_pgvector_and_checkpointer(empty_database_url: str) -> None:
    async with _pool(empty_database_url) as pool:
        version = await migrate(pool)
    assert version == latest_version() >= 1
    tables = _tables(empty_database_url)
    assert {"opsgraph_migrations", "checkpoints", "checkpoint_writes", "checkpoint_blobs"} <= tables
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchone()
        assert conn.execute("SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector").fetchone()[0] == 1.0


async def test_second_run_is_a_no_op(empty_database_url: str) -> None:
    async with _pool(empty_database_url) as pool:
        await migrate(pool)
        await migrate(pool)
    with psycopg.connect(empty_database_url) as conn:
        rows = conn.execute("SELECT version FROM opsgraph_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [m.version for m in load_migrations()]


async def test_two_replicas_starting_at_once_do_not_race(empty_database_url: str) -> None:
    # Two independent pools stand for two processes; both must succeed and apply each migration once.
    async with _pool(empty_database_url) as first, _pool(empty_database_url) as second:
        results = await asyncio.gather(migrate(first), migrate(second), migrate(first))
    assert set(results) == {latest_version()}
    with psycopg.connect(empty_database_url) as conn:
        count = conn.execute("SELECT count(*) FROM opsgraph_migrations").fetchone()[0]
        checkpoint_versions = conn.execute("SELECT count(*), count(DISTINCT v) FROM checkpoint_migrations").fetchone()
    assert count == len(load_migrations())
    assert checkpoint_versions[0] == checkpoint_versions[1]


async def test_edited_applied_migration_is_refused(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with _pool(empty_database_url) as pool:
        await migrate(pool)
        edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in load_migrations()]
        monkeypatch.setattr(migrate_module, "load_migrations", lambda: edited)
        with pytest.raises(MigrationError, match="was changed after it was applied"):
            await migrate(pool)


async def test_database_newer_than_the_code_is_refused(empty_database_url: str) -> None:
    async with _pool(empty_database_url) as pool:
        await migrate(pool)
        async with pool.connection() as conn:
            await conn.execute("INSERT INTO opsgraph_migrations VALUES (999, 'future', 'x')")
        with pytest.raises(MigrationError, match=r"\[999\].*upgrade opsgraph"):
            await migrate(pool)
