"""With no DATABASE_URL the service runs its own Postgres, reuses it, and stops it on exit."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.settings import default_data_dir
from tests.support.service import running_service, service_env


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Outside pytest's basetemp: see tests/conftest.py on why the server must not live there.
    path = Path(tempfile.mkdtemp(prefix="opsgraph-embedded-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _socket_url(data_dir: Path) -> str:
    return f"postgresql://postgres@/postgres?host={data_dir / 'postgres'}"


def _postmaster_running(data_dir: Path) -> bool:
    pid_file = data_dir / "postgres" / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_embedded_server_is_started_reused_and_stopped(data_dir: Path) -> None:
    env = service_env(OPSGRAPH_DATA_DIR=str(data_dir))
    with running_service(env, data_dir / "first.log") as service:
        assert _postmaster_running(data_dir)
        with psycopg.connect(_socket_url(data_dir), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept_across_runs (x int)")
            conn.execute("INSERT INTO kept_across_runs VALUES (42)")
            assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        service.stop(signal.SIGINT)  # Ctrl-C
    assert not _postmaster_running(data_dir), "Ctrl-C left the embedded Postgres running"

    with running_service(env, data_dir / "second.log") as service:
        with psycopg.connect(_socket_url(data_dir)) as conn:
            assert conn.execute("SELECT x FROM kept_across_runs").fetchone() == (42,)
        assert "applied migration" not in service.log()  # schema already there: nothing re-applied
    assert not _postmaster_running(data_dir)


def test_root_default_data_dir_is_outside_the_root_home() -> None:
    # The embedded server widens permissions on every parent of its data dir when run as root.
    path = default_data_dir()
    if os.geteuid() == 0:
        assert path == Path("/var/lib/opsgraph")
    else:
        assert path.is_relative_to(Path.home())
