"""A GitHub REST stand-in on loopback: the pull request endpoints opsgraph uses, as a real HTTP server.

Behaves like GitHub where it matters (422 "A pull request already exists" for a second open PR
on the same head and base, `head=owner:branch` filtering), records every request for assertions,
and can be told to fail the next N requests (401, 403, 502, rate limits).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class GitHubStandIn:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    _failures: list[tuple[int, dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def fail_next(self, status: int, times: int = 1, *, headers: dict[str, str] | None = None,
                  message: str = "failure injected by the stand-in") -> None:
        self._failures += [(status, headers or {}, {"message": message})] * times

    def rate_limit_next(self, reset_in: int = 120) -> None:
        self.fail_next(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + reset_in)},
                       message="API rate limit exceeded")

    def posted_pulls(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/pulls")]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def record(request: Request, call_next: Any) -> Any:
            body = await request.body()
            self.requests.append(Recorded(request.method, request.url.path, dict(request.query_params),
                                          {k.lower(): v for k, v in request.headers.items()},
                                          await request.json() if body else None))
            if self._failures:
                status, headers, payload = self._failures.pop(0)
                return JSONResponse(payload, status_code=status, headers=headers)
            return await call_next(request)

        @app.post("/repos/{owner}/{repo}/pulls")
        async def create(owner: str, repo: str, request: Request) -> JSONResponse:
            data = await request.json()
            if any(p["head"]["ref"] == data["head"] and p["base"]["ref"] == data["base"] and p["state"] == "open"
                   for p in self.pulls.values()):
                return JSONResponse({"message": "Validation Failed", "errors": [
                    {"resource": "PullRequest", "code": "custom",
                     "message": f"A pull request already exists for {owner}:{data['head']}."}]}, status_code=422)
            number = len(self.pulls) + 1
            self.pulls[number] = {
                "number": number, "state": "open", "title": data["title"], "body": data.get("body", ""),
                "html_url": f"https://github.example/{owner}/{repo}/pull/{number}",
                "head": {"ref": data["head"], "label": f"{owner}:{data['head']}"}, "base": {"ref": data["base"]}}
            return JSONResponse(self.pulls[number], status_code=201)

        @app.get("/repos/{owner}/{repo}/pulls")
        async def list_pulls(owner: str, repo: str, head: str = "", base: str = "", state: str = "open") -> list[Any]:
            return [p for p in self.pulls.values() if (not head or p["head"]["label"] == head)
                    and (not base or p["base"]["ref"] == base) and (state == "all" or p["state"] == state)]

        @app.get("/repos/{owner}/{repo}/pulls/{number}")
        async def get_pull(owner: str, repo: str, number: int) -> JSONResponse:
            if number not in self.pulls:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return JSONResponse(self.pulls[number])

        @app.post("/repos/{owner}/{repo}/issues/{number}/comments")
        async def comment(owner: str, repo: str, number: int, request: Request) -> JSONResponse:
            data = await request.json()
            made = {"id": len(self.comments) + 1, "body": data["body"], "issue": number,
                    "html_url": f"https://github.example/{owner}/{repo}/pull/{number}#issuecomment-{len(self.comments) + 1}"}
            self.comments.append(made)
            return JSONResponse(made, status_code=201)

        return app


@contextmanager
def github_standin() -> Iterator[GitHubStandIn]:
    standin = GitHubStandIn()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(standin.app(), host="127.0.0.1", port=port, log_config=None,
                                           lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the GitHub stand-in did not start")
        time.sleep(0.01)
    standin.url = f"http://127.0.0.1:{port}"
    try:
        yield standin
    finally:
        server.should_exit = True
        thread.join(10)
