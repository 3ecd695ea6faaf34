"""The application's psycopg connection pool, shared with LangGraph's checkpointer."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, OperationalError
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from app.db import storable_text

# Before any connection exists: connections copy the adapters in place when they open.
storable_text.install()


class DatabaseUnavailable(RuntimeError):
    """The database did not answer; the message is one line naming where we tried."""


# What "the database is away for now" looks like: the caller answers 503 or tries again later.
DATABASE_DOWN: tuple[type[Exception], ...] = (DatabaseUnavailable, PoolTimeout, OperationalError)


def is_outage(exc: BaseException) -> bool:
    """The database is away (refused, lost, shutting down), not one statement failing.

    Narrower than DATABASE_DOWN: a statement timeout or a full disk is an OperationalError too, and
    retrying it forever would block whoever retries.
    """
    if isinstance(exc, DatabaseUnavailable | PoolTimeout):
        return True
    if isinstance(exc, OperationalError):
        state = exc.sqlstate or ""
        return not state or state.startswith(("08", "57P"))  # connection exceptions, admin shutdown
    return False


def connection_kwargs(pgbouncer: bool) -> dict[str, Any]:
    # The checkpointer needs autocommit and dict rows. PgBouncer in transaction mode cannot keep
    # server-side prepared statements, so prepared statements are turned off there.
    return {"autocommit": True, "row_factory": dict_row, "prepare_threshold": None if pgbouncer else 0}


async def open_pool(
    url: str, *, min_size: int, max_size: int, pgbouncer: bool, timeout: float
) -> AsyncConnectionPool[AsyncConnection[dict[str, Any]]]:
    """Open the pool and prove the database answers, or raise DatabaseUnavailable."""
    try:
        # One plain connection first: its error says why (refused, auth, unknown database), where
        # the pool would only report that it timed out.
        probe = await AsyncConnection.connect(url, connect_timeout=max(1, int(timeout)), autocommit=True)
        await probe.close()
    except Exception as exc:
        raise DatabaseUnavailable(f"database unreachable at {describe_url(url)}: {_first_line(exc)}") from None
    pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]] = AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs=connection_kwargs(pgbouncer),
        open=False,
        timeout=timeout,
        name="opsgraph",
    )
    try:
        await pool.open(wait=True, timeout=timeout)
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
    except Exception as exc:
        await pool.close()
        raise DatabaseUnavailable(f"database unreachable at {describe_url(url)}: {_first_line(exc)}") from exc
    return pool


def describe_url(url: str) -> str:
    """Where a URL points, without its password, for error messages and logs."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return "<unparsable DATABASE_URL>"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"{host}:{port}/{parts.get('dbname', '')}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
