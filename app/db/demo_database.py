"""The database demo and eval runs use: another database on the server the service uses, so what they
open never appears among the service's incidents (OPSGRAPH_DEMO_DATABASE)."""

from __future__ import annotations

from psycopg import AsyncConnection, errors, sql
from psycopg.conninfo import make_conninfo

from app.db.pool import DatabaseUnavailable, describe_url


async def database_on_same_server(url: str, name: str) -> str:
    """The URL of database `name` on `url`'s server, created when missing (its schema is migrated by
    whoever opens it, as any database)."""
    try:
        async with await AsyncConnection.connect(url, autocommit=True, connect_timeout=10) as conn:
            exists = await (await conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))).fetchone()
            if exists is None:
                try:
                    await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                except errors.DuplicateDatabase:
                    pass  # another run created it meanwhile
    except errors.InsufficientPrivilege as exc:
        raise DatabaseUnavailable(
            f"cannot create database {name!r} at {describe_url(url)} for demo and eval runs ({exc.diag.message_primary}); "
            "create it, or set OPSGRAPH_DEMO_DATABASE= (empty) to use the service's own database") from None
    return make_conninfo(url, dbname=name)
