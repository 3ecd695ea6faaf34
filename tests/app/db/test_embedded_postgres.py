"""With no DATABASE_URL the service runs its own Postgres, reuses it, and stops it on exit."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.settings import default_data_dir
from app.db.embedded import HANDLE_FILE
from tests.support.service import ServiceProcess, running_service, service_env, start_service


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


def _holders(data_dir: Path) -> list[int]:
    return list(json.loads((data_dir / "postgres" / HANDLE_FILE).read_text() or "[]"))


def _kill(service: ServiceProcess) -> None:
    service.process.send_signal(signal.SIGKILL)
    service.process.wait(10)  # reaped, as a shell or supervisor would


def test_holders_killed_with_sigkill_are_pruned_so_the_last_live_one_stops_the_server(data_dir: Path) -> None:
    env = service_env(OPSGRAPH_DATA_DIR=str(data_dir), OPSGRAPH_WORKERS="0")
    crashed = start_service(env, data_dir / "crashed.log")
    _kill(crashed)
    assert _postmaster_running(data_dir) and _holders(data_dir) == [crashed.process.pid]

    survivor = start_service(env, data_dir / "survivor.log")  # prunes on start
    try:
        assert _holders(data_dir) == [survivor.process.pid]
        second_crash = start_service(env, data_dir / "second-crash.log")
        assert sorted(_holders(data_dir)) == sorted([survivor.process.pid, second_crash.process.pid])
        _kill(second_crash)
    finally:
        survivor.stop(signal.SIGTERM)  # prunes on exit: it is the last live holder
    assert not _postmaster_running(data_dir), "a holder killed with SIGKILL kept the embedded Postgres running"
    assert _holders(data_dir) == []


def test_root_default_data_dir_is_outside_the_root_home() -> None:
    # The embedded server widens permissions on every parent of its data dir when run as root.
    path = default_data_dir()
    if os.geteuid() == 0:
        assert path == Path("/var/lib/opsgraph")
    else:
        assert path.is_relative_to(Path.home())
