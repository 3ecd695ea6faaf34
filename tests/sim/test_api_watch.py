"""Watch: replay, live changes, selectors, timeouts, 410 for a compacted resourceVersion, clean stop."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sim.api_support import Served, python_client, request, serve, watch_events


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path, history=50) as served:
        yield served


def _core(sim: Served) -> Any:
    from kubernetes import client

    return client.CoreV1Api(python_client(sim.kubeconfig))


def _relabel(sim: Served, name: str, labels: dict[str, str]) -> None:
    pod = sim.store.get("Pod", "shop", name)
    assert pod is not None
    pod["metadata"]["labels"] = labels
    sim.store.put(pod)


def test_client_watch_replays_then_streams_and_ends_at_timeout(sim: Served) -> None:
    from kubernetes import watch

    v1 = _core(sim)
    seen: list[tuple[str, str]] = []
    started = time.monotonic()
    stream = watch.Watch().stream(v1.list_namespaced_pod, "shop", timeout_seconds=1)
    for event in stream:
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 3:  # the replay is complete: now change something while the stream is open
            _relabel(sim, "web-5d9c-ok", {"app": "web", "rev": "2"})
            sim.store.delete("Pod", "shop", "init-broken")
    elapsed = time.monotonic() - started
    assert seen == [("ADDED", "init-broken"), ("ADDED", "web-5d9c-ok"), ("ADDED", "web-5d9c-oom"),
                    ("MODIFIED", "web-5d9c-ok"), ("DELETED", "init-broken")]
    assert 0.8 < elapsed < 3, elapsed


def test_watch_from_a_resource_version_sends_only_later_changes(sim: Served) -> None:
    revision = sim.store.resource_version
    _relabel(sim, "web-5d9c-oom", {"app": "web", "seen": "yes"})
    events = watch_events(sim.url, f"/api/v1/namespaces/shop/pods?watch=true&resourceVersion={revision}", 1)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("MODIFIED", "web-5d9c-oom")]
    assert events[0]["object"]["metadata"]["labels"]["seen"] == "yes"


def test_label_selector_turns_leaving_into_deleted(sim: Served) -> None:
    revision = sim.store.resource_version
    _relabel(sim, "web-5d9c-ok", {"app": "other"})
    _relabel(sim, "init-broken", {"app": "web"})
    events = watch_events(sim.url, f"/api/v1/watch/namespaces/shop/pods?labelSelector=app%3Dweb"
                                   f"&resourceVersion={revision}", 2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("DELETED", "web-5d9c-ok"), ("ADDED", "init-broken")]


def test_too_old_resource_version_is_410_expired(sim: Served) -> None:
    for n in range(60):  # the fixture keeps 50 events of history
        _relabel(sim, "web-5d9c-ok", {"app": "web", "n": str(n)})
    reply = request(sim.url, "GET", "/api/v1/namespaces/shop/pods?watch=1&resourceVersion=3&timeoutSeconds=5")
    assert reply.status == 200
    (event,) = [json.loads(line) for line in reply.body.splitlines()]
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    assert event["object"]["message"].startswith("too old resource version: 3 (")


def test_client_watch_raises_on_410(sim: Served) -> None:
    from kubernetes import client, watch

    for n in range(60):
        _relabel(sim, "web-5d9c-ok", {"app": "web", "n": str(n)})
    with pytest.raises(client.ApiException) as info:
        list(watch.Watch().stream(_core(sim).list_namespaced_pod, "shop", resource_version="3", timeout_seconds=5))
    assert info.value.status == 410


def test_events_and_other_kinds_are_watchable(sim: Served) -> None:
    events = watch_events(sim.url, "/apis/events.k8s.io/v1/namespaces/shop/events?watch=true", 2)
    assert {e["object"]["note"] for e in events} == {
        "Started container web", "Back-off restarting failed container web in pod web-5d9c-oom_shop(x)"}
    (deployment,) = watch_events(sim.url, "/apis/apps/v1/watch/deployments", 1)
    assert (deployment["type"], deployment["object"]["kind"]) == ("ADDED", "Deployment")


def test_secrets_stay_redacted_in_watch_events(sim: Served) -> None:
    (event,) = watch_events(sim.url, "/api/v1/namespaces/shop/secrets?watch=true", 1)
    assert event["object"]["data"] == {"password": "", "user": ""}
    assert "aHVudGVy" not in json.dumps(event)


def test_stopping_the_server_ends_open_watches(tmp_path: Path) -> None:
    with serve(tmp_path) as sim:
        result: dict[str, Any] = {}

        def watch_forever() -> None:
            result["reply"] = request(sim.url, "GET", "/api/v1/pods?watch=true", timeout=10)

        watcher = threading.Thread(target=watch_forever, daemon=True)
        watcher.start()
        deadline = time.monotonic() + 5
        while sim.server.open_watches == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sim.server.open_watches == 1
        started = time.monotonic()
    watcher.join(timeout=5)
    assert not watcher.is_alive()
    assert time.monotonic() - started < 3
    assert len(result["reply"].body.splitlines()) == 5  # the five replayed pods, then a clean end


def test_bad_resource_version_is_400_before_streaming(sim: Served) -> None:
    reply = request(sim.url, "GET", "/api/v1/pods?watch=true&resourceVersion=abc")
    assert reply.status == 400 and reply.json()["message"] == 'invalid resource version: "abc"'


def test_stop_does_not_wait_for_idle_keep_alive_connections(tmp_path: Path) -> None:
    import http.client
    from urllib.parse import urlsplit

    with serve(tmp_path) as sim:
        parts = urlsplit(sim.url)
        idle = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        idle.request("GET", "/version")
        assert idle.getresponse().read()  # the connection stays open, its handler waits for more
        started = time.monotonic()
    assert time.monotonic() - started < 2
    idle.close()
