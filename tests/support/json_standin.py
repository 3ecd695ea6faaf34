"""A loopback HTTP server that answers GETs with JSON, for stand-ins of APIs we do not simulate."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    """Subclasses say what a GET answers (`answer`); sending it and staying quiet is done here."""

    def answer(self) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        raise NotImplementedError  # every stand-in defines its own answer (and, optionally, extra headers)

    def do_GET(self) -> None:
        status, payload, *extra = self.answer()
        body = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (extra[0] if extra else {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serving(handler: type[JsonHandler]) -> Iterator[int]:
    """Serve `handler` on a free loopback port (yielded) until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
