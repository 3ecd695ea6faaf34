"""A local stand-in of Slack: the Web API methods opsgraph calls (answered in Slack's response shapes, every
call recorded, failures injectable) and requests to opsgraph signed exactly as Slack signs them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from websockets.asyncio.server import ServerConnection, serve

BOT_TOKEN = "xoxb-standin-0123456789"
APP_TOKEN = "xapp-standin-0123456789"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    status: int


@dataclass
class SlackStandIn:
    url: str = ""  # the Web API base (`.../api/`), what SLACK_API_URL is set to
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, str | None]]] = field(default_factory=dict)
    socket_url: str | None = None  # what apps.connections.open answers
    groups: dict[str, list[str]] = field(default_factory=dict)  # user group id → member user ids
    on_call: Callable[[str, dict[str, Any]], None] | None = None  # runs before a call is answered
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def fail_next(self, method: str, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        with self.lock:
            self.failures.setdefault(method, []).extend([(status, retry_after)] * times)

    def answered(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def refused(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method and c.status != 200]

    def answer(self, method: str, body: dict[str, Any], token: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self.lock:
            queued = self.failures.get(method) or []
            failure = queued.pop(0) if queued else None
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": retry_after} if retry_after else {}
            return status, {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}, headers
        if method == "apps.connections.open":
            if token != APP_TOKEN or not self.socket_url:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            return 200, {"ok": True, "url": self.socket_url}, {}
        if token != BOT_TOKEN:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        ts = f"1700000000.{next(self._ts):06d}"
        if method == "auth.test":
            return 200, {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "opsgraph",
                         "team_id": "T0ACME", "user_id": "U0BOT", "bot_id": "B0BOT"}, {}
        if method == "chat.postMessage":
            return 200, {"ok": True, "channel": body["channel"], "ts": ts,
                         "message": {"text": body.get("text"), "ts": ts, "thread_ts": body.get("thread_ts")}}, {}
        if method == "chat.update":
            return 200, {"ok": True, "channel": body["channel"], "ts": body["ts"], "text": body.get("text")}, {}
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": ts}, {}
        if method == "usergroups.users.list":
            if body.get("usergroup") not in self.groups:
                return 200, {"ok": False, "error": "no_such_subteam"}, {}
            return 200, {"ok": True, "users": self.groups[body["usergroup"]]}, {}
        if method == "views.open":
            return 200, {"ok": True, "view": {**body.get("view", {}), "id": "V0VIEW"}}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}

    # What the tests read back ------------------------------------------------------------------
    def cards(self) -> list[dict[str, Any]]:
        """Every card as posted or updated (thread replies left out), oldest first."""
        return [c.body for c in self._in_order() if c.method in ("chat.postMessage", "chat.update")
                and c.status == 200 and not c.body.get("thread_ts")]

    def _in_order(self) -> list[Call]:
        with self.lock:
            return list(self.calls)

    def ephemerals(self, user: str | None = None) -> list[str]:
        return [c.body["text"] for c in self.answered("chat.postEphemeral") if user in (None, c.body.get("user"))]

    def thread_replies(self) -> list[str]:
        return [c.body["text"] for c in self.answered("chat.postMessage") if c.body.get("thread_ts")]


def _decoded(raw: bytes, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        return dict(json.loads(raw or b"{}"))
    form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    for key in ("blocks", "view"):
        if key in form:
            form[key] = json.loads(form[key])
    return form


@contextmanager
def slack_standin() -> Iterator[SlackStandIn]:
    standin = SlackStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # methods the SDK reads with GET and query parameters
            self.do_POST()

        def do_POST(self) -> None:
            path, _, query = self.path.partition("?")
            method = path.rstrip("/").rsplit("/", 1)[-1]
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = {**{k: v[0] for k, v in parse_qs(query).items()}, **_decoded(raw, self.headers.get("Content-Type", ""))}
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else body.get("token")
            if standin.on_call is not None:
                standin.on_call(method, body)
            status, payload, headers = standin.answer(method, body, token)
            with standin.lock:
                standin.calls.append(Call(method, body, status))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    standin.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()


# Requests from Slack to opsgraph ------------------------------------------------------------------

def slack_signature(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()


async def post_signed(client: httpx.AsyncClient, path: str, form: dict[str, str], *, secret: str = SIGNING_SECRET,
                      timestamp: int | None = None, signature: str | None = None) -> httpx.Response:
    body = urlencode(form)
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return await client.post(path, content=body.encode(), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or slack_signature(body, ts, secret)})


def block_action(user: str, action_id: str, value: str, *, channel: str = "C0OPS", message_ts: str = "") -> dict[str, Any]:
    """A `block_actions` payload as Slack sends it for a button click on a message."""
    return {
        "type": "block_actions", "api_app_id": "A0APP", "token": "legacy-unused", "trigger_id": "1337.42.abcdef",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0ACME"},
        "team": {"id": "T0ACME", "domain": "acme"}, "channel": {"id": channel, "name": "ops"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "message": {"ts": message_ts, "type": "message"}, "response_url": "http://127.0.0.1:9/unused",
        "actions": [{"action_id": action_id, "block_id": "incident", "value": value, "type": "button",
                     "action_ts": f"{time.time():.6f}"}],
    }


def view_submission(user: str, view: dict[str, Any], values: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """A `view_submission` payload: the modal opsgraph opened, with what the person typed."""
    return {
        "type": "view_submission", "api_app_id": "A0APP", "token": "legacy-unused", "trigger_id": "1337.43.abcdef",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0ACME"},
        "team": {"id": "T0ACME", "domain": "acme"},
        "view": {**view, "id": "V0VIEW", "team_id": "T0ACME", "state": {"values": values}},
    }


def buttons(card: dict[str, Any]) -> dict[str, str]:
    """action_id → value of a card's buttons."""
    return {e["action_id"]: e["value"] for b in card.get("blocks", []) if b["type"] == "actions" for e in b["elements"]}


@dataclass
class SocketModeStandIn:
    """Slack's Socket Mode end: opsgraph connects out to it; it pushes envelopes and collects the acks."""

    connection: ServerConnection | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def push(self, envelope_type: str, payload: dict[str, Any], envelope_id: str) -> None:
        await self.connected.wait()
        assert self.connection is not None
        await self.connection.send(json.dumps({"envelope_id": envelope_id, "type": envelope_type,
                                               "payload": payload, "accepts_response_payload": False}))


@asynccontextmanager
async def socket_mode_standin(standin: SlackStandIn) -> AsyncIterator[SocketModeStandIn]:
    end = SocketModeStandIn()

    async def session(connection: ServerConnection) -> None:
        end.connection = connection
        await connection.send(json.dumps({"type": "hello", "num_connections": 1,
                                          "connection_info": {"app_id": "A0APP"}}))
        end.connected.set()
        async for message in connection:
            data = json.loads(message)
            end.acks[data["envelope_id"]] = data

    async with serve(session, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        standin.socket_url = f"ws://127.0.0.1:{port}/link/?ticket=standin"
        yield end
