"""The HTTP layer: stdlib ThreadingHTTPServer speaking the Kubernetes REST dialect.

Why the stdlib: the API is plain JSON over HTTP/1.1 plus chunked watch streams, one thread per
connection is ample for a handful of agents and kubectl, and it adds no dependency to `sim/`.
Routing is by path shape (/api/v1/..., /apis/<group>/<version>/...), the verbs live in
sim.verbs, and every failure leaves as a metav1.Status with its HTTP code, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import traceback
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sim import errors, protowire, rbac, resources
from sim.errors import ApiError
from sim.quantity import to_bytes
from sim.resources import ResourceType, to_wire
from sim.store import ObjectStore, format_time
from sim.tables import build_table, parse_time
from sim.verbs import Api, ControllerLike, parse_json

Obj = dict[str, Any]

MAX_BODY = 3 * 1024 * 1024  # the apiserver's limit for a request body
DEFAULT_WATCH_SECONDS = 1800.0
WATCH_END_GRACE_SECONDS = 2.0  # how long stop() lets open watches finish their last chunk
VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.4", "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean", "buildDate": "2025-04-22T00:00:00Z", "goVersion": "go1.23.8", "compiler": "gc",
    "platform": "linux/amd64",
}
_TRUE = ("true", "1")


@dataclass(frozen=True)
class Route:
    rt: ResourceType
    namespace: str | None
    name: str | None
    sub: str | None
    watch: bool


def parse_resource_path(parts: list[str]) -> Route:
    """`parts` after /api/v1 or /apis/<g>/<v>, the group and version first: [group, version, ...]."""
    group, version, rest = parts[0], parts[1], parts[2:]
    watch = bool(rest) and rest[0] == "watch"
    rest = rest[1:] if watch else rest
    namespace = None
    # /namespaces/<ns>/status and /finalize are the Namespace's own subresources, not a namespaced path.
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise errors.no_route()
    rt = resources.find(group, version, rest[0])
    if rt is None or (namespace is not None and not rt.namespaced):
        raise errors.no_route()
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and rt.subresource(sub) is None:
        raise errors.no_route()
    if rt.namespaced and namespace is None and name is not None:
        raise errors.no_route()
    return Route(rt, namespace, name, sub, watch)


def shape_log(text: str, query: dict[str, str], started_at: str | None, now_iso: str) -> str:
    """Apply tailLines, sinceSeconds/sinceTime, timestamps and limitBytes to a container's log.

    The controller's lines carry no time of their own, so each is stamped with the start of the run
    that printed it, which is when a crashing process writes its lines."""
    lines = text.splitlines()
    stamp = started_at or now_iso
    now = parse_time(now_iso)
    cutoff = parse_time(query.get("sinceTime"))
    if query.get("sinceSeconds", "").isdigit() and now is not None:
        cutoff = now - timedelta(seconds=int(query["sinceSeconds"]))
    moment = parse_time(stamp)
    if cutoff is not None and moment is not None and moment < cutoff:
        lines = []
    if query.get("tailLines", "").lstrip("-").isdigit():
        tail = int(query["tailLines"])
        lines = lines[-tail:] if tail > 0 else ([] if tail == 0 else lines)
    if query.get("timestamps", "").lower() in _TRUE:
        stamp_nano = stamp.replace("Z", ".000000000Z") if stamp.endswith("Z") and "." not in stamp else stamp
        lines = [f"{stamp_nano} {line}" for line in lines]
    out = "".join(line + "\n" for line in lines)
    if query.get("limitBytes", "").isdigit():
        out = out.encode()[: int(query["limitBytes"])].decode(errors="ignore")
    return out


def _run_start(pod: Obj, container: str | None, previous: bool) -> str | None:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    statuses += (pod.get("status") or {}).get("initContainerStatuses") or []
    status = next((s for s in statuses if container is None or s.get("name") == container), None)
    if status is None:
        return None
    state = (status.get("lastState") if previous else status.get("state")) or {}
    return next((v.get("startedAt") for v in state.values() if isinstance(v, dict) and v.get("startedAt")), None)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms on loopback) on every request.
    disable_nagle_algorithm = True
    server: SimHTTPServer

    # -- plumbing ------------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write("sim: " + (format % args) + "\n")

    def _send(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, obj: Obj) -> None:
        self._send(code, json.dumps(obj, separators=(",", ":")).encode())

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            # Drain a moderately large body so the client reads our 413 instead of a broken pipe;
            # beyond that, drop the connection rather than read without bound.
            if length <= 16 * MAX_BODY:
                while length > 0:
                    length -= len(self.rfile.read(min(length, 1 << 20)) or b"x" * length)
            else:
                self.close_connection = True
            raise ApiError(413, f"Request entity too large: limit is {MAX_BODY}")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                body += self.rfile.read(size)
                self.rfile.readline()
                if len(body) > MAX_BODY:
                    self.close_connection = True
                    raise ApiError(413, f"Request entity too large: limit is {MAX_BODY}")
            self.rfile.readline()
            return body
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        try:
            self._dispatch()
        except ApiError as exc:
            self._json(exc.code, exc.status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            error = ApiError(500, f"Internal error occurred: {type(exc).__name__}: {exc}")
            try:
                self._json(500, error.status())
            except OSError:
                self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    # -- routing -------------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        parts = [unquote(p) for p in url.path.split("/") if p]
        body = self._read_body() if self.command in ("POST", "PUT", "PATCH", "DELETE") else b""
        if self.command == "GET" and self._discovery(parts):
            return
        if self.command == "GET" and parts[:1] == ["v2"]:
            self._registry(parts[1:])
            return
        if self.command == "GET" and parts[:1] == ["metrics"] and len(parts) <= 2:
            self._metrics(parts[1] if len(parts) == 2 else None)
            return
        if parts[:2] == ["api", "v1"]:
            route = parse_resource_path(["", "v1", *parts[2:]])
        elif len(parts) >= 3 and parts[0] == "apis":
            route = parse_resource_path(parts[1:])
        else:
            raise errors.no_route()
        self._resource(route, query, body)

    def _registry(self, parts: list[str]) -> None:
        """The image registry's tag list (`/v2/<name>/tags/list`), from the scenario's world facts."""
        from sim.registry import tag_list

        scenario = getattr(self.server.api.controller, "scenario", None)
        if parts == []:
            self._json(200, {})
            return
        answer = tag_list(scenario, "/".join(parts[:-2])) if scenario is not None and parts[-2:] == ["tags", "list"] \
            else None
        if answer is None:
            self._json(404, {"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known to registry",
                                         "detail": {"name": "/".join(parts[:-2])}}]})
            return
        self._json(200, answer)

    def _metrics(self, source: str | None) -> None:
        """Prometheus exposition from the store (sim/metrics.py): `/metrics/<source>` per scrape job."""
        from sim import metrics

        if source is not None and source not in metrics.SOURCES:
            raise errors.no_route()
        scenario = getattr(self.server.controller, "scenario", None)
        volumes = {(v.namespace, v.claim): to_bytes(v.used) for v in scenario.world.volumes} if scenario else {}
        self._send(200, metrics.exposition(self.server.store, source, volumes), metrics.CONTENT_TYPE)

    def _discovery(self, parts: list[str]) -> bool:
        doc: Obj | None
        if parts in (["healthz"], ["livez"], ["readyz"]):
            self._send(200, b"ok", "text/plain; charset=utf-8")
            return True
        if parts in (["api"], ["apis"]) and "as=APIGroupDiscoveryList" in self.headers.get("Accept", "") \
                and "v=v2;" in self.headers.get("Accept", "") + ";":
            body = json.dumps(resources.aggregated_discovery(legacy=parts == ["api"]), separators=(",", ":"))
            self._send(200, body.encode(), resources.AGGREGATED_V2)
            return True
        if parts == ["version"]:
            doc = VERSION
        elif parts == ["api"]:
            doc = resources.api_versions(f"{self.server.server_address[0]}:{self.server.server_address[1]}")
        elif parts == ["api", "v1"]:
            doc = resources.api_resource_list("", "v1")
        elif parts == ["apis"]:
            doc = resources.api_group_list()
        elif len(parts) == 2 and parts[0] == "apis":
            doc = resources.api_group(parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            doc = resources.api_resource_list(parts[1], parts[2])
        elif parts == ["openapi", "v3"]:
            doc = resources.openapi_v3_index()
        elif parts[:3] == ["openapi", "v3", "api"] and len(parts) == 4:
            doc = resources.openapi_v3_document("", parts[3])
        elif parts[:3] == ["openapi", "v3", "apis"] and len(parts) == 5:
            doc = resources.openapi_v3_document(parts[3], parts[4])
        else:
            return False
        if doc is None:
            raise errors.no_route()
        self._json(200, doc)
        return True

    def _resource(self, route: Route, query: dict[str, str], body: bytes) -> None:
        api, rt, method = self.server.api, route.rt, self.command
        verb = {
            "GET": "watch" if route.watch or query.get("watch", "").lower() in _TRUE else (
                "get" if route.name else "list"),
            "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete",
        }[method]
        if route.sub == "eviction" and method == "POST":
            self._json(201, api.evict(route.namespace or "", route.name or "", self._body_object(body),
                                      query.get("dryRun", "") == "All"))
            return
        sub = rt.subresource(route.sub) if route.sub else None
        allowed = sub.verbs if sub else rt.verbs
        if verb not in allowed or (route.name is None) != (verb in ("list", "watch", "create")) or (
                route.name is None and rt.namespaced and route.namespace is None and verb == "create"):
            raise errors.method_not_allowed()
        dry_run = query.get("dryRun", "") == "All"
        if query.get("dryRun", "") not in ("", "All"):
            raise errors.bad_request(f'Invalid dry run value: "{query["dryRun"]}"')
        user = self._user()
        if rt.group == "authorization.k8s.io":
            review = rbac.access_review(self.server.store, user, self._body_object(body), rt.kind.startswith("Self"))
            self._json(201, review)
            return
        if user is not rbac.ADMIN:
            rbac.check(self.server.store, user, rbac.Request(
                verb, rt.plural, rt.group, route.namespace if rt.namespaced else None, route.name, route.sub))
        accept = self.headers.get("Accept", "")
        ns, name = route.namespace, route.name or ""
        if verb == "watch":
            self._watch(route, query, accept)
        elif verb == "list":
            items, revision = api.list(rt, ns, query)
            self._json(200, self._collection(rt, items, revision, accept, query))
        elif verb == "get" and route.sub == "log":
            self._log(route, query)
        elif verb == "get" and route.sub == "scale":
            self._json(200, api.scale(rt, ns, name))
        elif verb == "get":
            stored = api._stored(rt, ns, name)
            self._json(200, self._collection(rt, [stored], stored["metadata"].get("resourceVersion", ""),
                                             accept, query, single=True))
        elif verb == "create":
            self._json(201, api.create(rt, ns, parse_json(body), dry_run))
        elif verb == "update":
            self._json(200, api.update(rt, ns, name, route.sub, parse_json(body), dry_run))
        elif verb == "patch":
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            patch = self._apply_body(body) if content_type == "application/apply-patch+yaml" else parse_json(body)
            self._json(200, api.patch(rt, ns, name, route.sub, patch, content_type, dry_run))
        else:
            options = parse_json(body) if body.strip() else {}
            options = options if isinstance(options, dict) else {}
            if query.get("propagationPolicy"):
                options["propagationPolicy"] = query["propagationPolicy"]
            dry_run = dry_run or "All" in (options.get("dryRun") or [])
            self._json(200, api.delete(rt, ns, name, options, dry_run))

    def _body_object(self, body: bytes) -> Any:
        """A create's body: JSON, or the protobuf kubectl's typed clients send for reviews and evictions."""
        if (self.headers.get("Content-Type") or "").startswith("application/vnd.kubernetes.protobuf"):
            return protowire.decode(body)
        return parse_json(body)

    def _user(self) -> rbac.User:
        """Who is asking: the kubeconfig's admin, or whom it impersonates (`kubectl --as/--as-group`)."""
        name = self.headers.get("Impersonate-User")
        if not name:
            return rbac.ADMIN
        return rbac.User.impersonated(name, list(self.headers.get_all("Impersonate-Group") or []))

    @staticmethod
    def _apply_body(body: bytes) -> Any:
        from ruamel.yaml import YAML, YAMLError  # server-side apply sends YAML; JSON is YAML too

        try:
            return json.loads(json.dumps(YAML(typ="safe").load(body.decode())))
        except (YAMLError, UnicodeDecodeError, TypeError, ValueError) as exc:
            raise errors.bad_request(f"error decoding YAML: {exc}") from None

    # -- representations -----------------------------------------------------------------------------
    def _collection(self, rt: ResourceType, items: list[Obj], revision: str, accept: str,
                    query: dict[str, str], single: bool = False) -> Obj:
        """A list, one object, a Table, or PartialObjectMetadata, depending on what the client accepts."""
        wire = [to_wire(rt, json.loads(json.dumps(o))) for o in items]
        if "as=Table" in accept:
            return build_table(rt.stored_kind, list(zip(items, wire, strict=True)), self.server.store.now(), revision,
                               query.get("includeObject", "Metadata"))
        if "as=PartialObjectMetadata" in accept:
            partial = [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": o["metadata"]} for o in wire]
            if single:
                return partial[0]
            return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                    "metadata": {"resourceVersion": revision}, "items": partial}
        if single:
            return wire[0]
        return {"kind": f"{rt.kind}List", "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": revision}, "items": wire}

    def _log(self, route: Route, query: dict[str, str]) -> None:
        api = self.server.api
        pod = api._stored(route.rt, route.namespace, route.name or "")
        container = query.get("container") or None
        previous = query.get("previous", "").lower() in _TRUE
        try:
            text = api.controller.read_log(route.namespace or "", route.name or "", container, previous)
        except Exception as exc:
            # sim.controller.LogError carries code/reason/message; matched by shape so a stand-in works too.
            if not all(hasattr(exc, a) for a in ("code", "reason", "message")):
                raise
            raise ApiError(int(exc.code), str(exc.message), str(exc.reason)) from None
        now = format_time(self.server.store.now())
        self._send(200, shape_log(text, query, _run_start(pod, container, previous), now).encode(),
                   "text/plain")

    def _watch(self, route: Route, query: dict[str, str], accept: str) -> None:
        store, rt = self.server.store, route.rt
        # As in the apiserver, 0 or no timeoutSeconds means the server's own (long) default.
        timeout = float(query.get("timeoutSeconds", "0")) if query.get("timeoutSeconds", "").isdigit() else 0.0
        timeout = timeout or DEFAULT_WATCH_SECONDS

        def render(obj: Obj) -> Obj:
            if "as=Table" in accept:
                return build_table(rt.stored_kind, [(obj, to_wire(rt, json.loads(json.dumps(obj))))],
                                   store.now(), obj["metadata"].get("resourceVersion", ""),
                                   query.get("includeObject", "Metadata"))
            return to_wire(rt, obj)

        events = self.server.api.watch(rt, route.namespace, query, timeout, render, self.server.stopping.is_set)
        # Counted from the start so stop() waits for this stream's clean end before closing sockets.
        with self.server.watch_lock:
            self.server.open_watches += 1
        try:
            first = next(events, None)  # validation errors surface here, before the 200 is sent
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            if first is not None:
                self._chunk(first)
            for event in events:
                self._chunk(event)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            events.close()
            with self.server.watch_lock:
                self.server.open_watches -= 1
                self.server.watches_ended.notify_all()

    def _chunk(self, event: Obj) -> None:
        data = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung watch must never keep the interpreter alive
    # stop() closes every open connection itself; the stdlib's join-on-close would wait for idle
    # keep-alive connections (urllib3 pools, kubectl) until their clients hang up.
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], store: ObjectStore, controller: ControllerLike,
                 verbose: bool = False) -> None:
        super().__init__(address, _Handler)
        self.store = store
        self.controller = controller
        self.api = Api(store, controller)
        self.verbose = verbose
        self.stopping = threading.Event()
        self.watch_lock = threading.Lock()
        self.open_watches = 0  # streams in flight, for tests and for a clean-stop check
        self.watches_ended = threading.Condition(self.watch_lock)
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.watch_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-request (a watcher that got what it wanted) is normal, not an error.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.watch_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SimHTTPServer:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"sim-api-{self.server_address[1]}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end open watches, and release the port."""
        self.stopping.set()
        self.store.close()
        self.shutdown()
        with self.watch_lock:
            # Streams see the closed store within a wake-up and write their last chunk; cutting their
            # sockets first would leave clients with a truncated body instead of a clean end.
            self.watches_ended.wait_for(lambda: self.open_watches == 0, timeout=WATCH_END_GRACE_SECONDS)
            connections = list(self._connections)
        for conn in connections:  # wakes handlers blocked reading the next keep-alive request
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
