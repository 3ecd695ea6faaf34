"""Open the database the settings describe: the configured one, or the embedded one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from app.db.embedded import EmbeddedPostgres
from app.db.migrate import migrate
from app.db.pool import open_pool
from app.settings import Settings


@dataclass
class Database:
    pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]]
    url: str
    embedded: bool
    schema_version: int


@asynccontextmanager
async def open_database(settings: Settings, *, run_migrations: bool = True) -> AsyncIterator[Database]:
    """Start the embedded server if needed, open the pool, migrate; undo all of it on exit."""
    embedded: EmbeddedPostgres | None = None
    if settings.database_url is None:
        embedded = EmbeddedPostgres(settings.data_dir)
        # Starting the server blocks (it runs pg_ctl); keep the event loop free meanwhile.
        url = await asyncio.to_thread(embedded.start)
    else:
        url = settings.database_url.get_secret_value()
    try:
        pool = await open_pool(
            url,
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            pgbouncer=settings.db_pgbouncer,
            timeout=settings.db_connect_timeout_seconds,
        )
        try:
            version = await migrate(pool) if run_migrations else 0
            yield Database(pool=pool, url=url, embedded=embedded is not None, schema_version=version)
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
