"""Fixtures every test area shares: a real Postgres, a fresh migrated database per test."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool

from app.db.embedded import EmbeddedPostgres
from app.db.migrate import migrate
from app.db.pool import connection_kwargs
from app.settings import Settings, load_settings
from sim.runtime import RunningSim, start_sim
from sim.scenario import find_scenario

TEMPLATE_DB = "opsgraph_test_template"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real Postgres server: $DATABASE_URL when set, else the embedded one in a temp dir.

    Not under pytest's basetemp: as root the server runs as a system user, and every pytest
    start resets /tmp/pytest-of-root to mode 0700 (and prunes old runs), which would cut a
    running server off from its own files.
    """
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    data_dir = Path(tempfile.mkdtemp(prefix="opsgraph-test-pg-"))
    server = EmbeddedPostgres(data_dir)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_database(postgres_url: str) -> str:
    """A database migrated once per session; each test copies it (CREATE DATABASE ... TEMPLATE)."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    url = make_conninfo(postgres_url, dbname=TEMPLATE_DB)

    async def _migrate() -> None:
        async with AsyncConnectionPool(url, kwargs=connection_kwargs(False), open=False) as pool:
            await migrate(pool)

    asyncio.run(_migrate())
    return TEMPLATE_DB


def _create_database(postgres_url: str, template: str | None) -> str:
    name = f"opsgraph_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{suffix}')
    return name


def _drop_database(postgres_url: str, name: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(postgres_url: str, template_database: str) -> Iterator[str]:
    """A fresh, migrated database for one test, dropped afterwards."""
    name = _create_database(postgres_url, template_database)
    try:
        yield make_conninfo(postgres_url, dbname=name)
    finally:
        _drop_database(postgres_url, name)


@pytest.fixture
def empty_database_url(postgres_url: str) -> Iterator[str]:
    """A fresh database with no schema at all (for migration tests)."""
    name = _create_database(postgres_url, None)
    try:
        yield make_conninfo(postgres_url, dbname=name)
    finally:
        _drop_database(postgres_url, name)


@pytest.fixture
async def db_pool(database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    async with AsyncConnectionPool(database_url, kwargs=connection_kwargs(False), open=False) as pool:
        yield pool


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a service on the test database; logs as text for readable failures."""
    return load_settings(database_url=_as_url(database_url), data_dir=tmp_path, log_format="text")


def _as_url(conninfo: str) -> str:
    """Settings take a URL; the embedded server's conninfo is turned into one."""
    parts = conninfo_to_dict(conninfo)
    host = parts.pop("host", "")
    user = parts.pop("user", "postgres")
    password = parts.pop("password", "")
    dbname = parts.pop("dbname", "postgres")
    port = parts.pop("port", None)
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in parts.items())
    if host.startswith("/"):
        query = f"host={quote(host, safe='')}" + (f"&{query}" if query else "")
        netloc = f"{quote(user)}:{quote(password)}@"
    else:
        netloc = f"{quote(user)}:{quote(password)}@{host}" + (f":{port}" if port else "")
    return f"postgresql://{netloc}/{dbname}" + (f"?{query}" if query else "")



@pytest.fixture
def sim_cluster() -> Iterator[Callable[..., RunningSim]]:
    """Start simulated clusters by scenario name or path; all are stopped after the test."""
    started: list[RunningSim] = []

    def start(scenario: str | Path) -> RunningSim:
        running = start_sim(find_scenario(str(scenario)))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
