"""Shared pieces of the verify-after-merge tests: signed GitHub deliveries, a remediating incident, the
scenario's fix applied to a running sim, and a virtual clock whose sleep only moves time forward."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from sim.runtime import RunningSim
from sim.patching import apply_patch

WEBHOOK_SECRET = "test-github-webhook-secret"
REPO = "acme/gitops"
BRANCH = "opsgraph/{id}-raise-memory-limit"
COMMIT = "0f3c2a9b7d1e4c5a6b8d9e0f1a2b3c4d5e6f7a8b"
MERGE_COMMIT = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def pr_event(number: int, head: str, *, merged: bool, action: str = "closed", repo: str = REPO) -> dict[str, Any]:
    """A GitHub `pull_request` event as GitHub sends it (the fields opsgraph reads, and some it does not)."""
    merged_at = datetime.now(UTC).isoformat().replace("+00:00", "Z") if merged else None
    return {"action": action, "number": number, "sender": {"login": "alice"},
            "repository": {"full_name": repo, "private": True},
            "pull_request": {"number": number, "state": "closed" if action == "closed" else "open",
                             "html_url": f"https://github.example/{repo}/pull/{number}", "merged": merged,
                             "merged_at": merged_at, "merge_commit_sha": MERGE_COMMIT if merged else None,
                             "merged_by": {"login": "alice"} if merged else None, "title": "Raise memory limit",
                             "head": {"ref": head, "sha": COMMIT}, "base": {"ref": "main", "sha": "b" * 40}}}


def deliver(url: str, event: str, payload: dict[str, Any] | bytes, *, delivery: str | None = None,
            signature: str | None = None) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
               "Content-Type": "application/json"}
    if signature != "":  # "" sends no signature at all
        headers["X-Hub-Signature-256"] = sign(body) if signature is None else signature
    return httpx.post(url + "/webhooks/github", content=body, headers=headers, timeout=10)


def seed_incident(conninfo: str, *, status: str = "remediating", number: int | None = 1, repo: str | None = REPO,
                  cluster: str = "default", namespace: str = "default", name: str = "memory-hog") -> int:
    """An incident the remediation graph has opened a pull request for (the runner's `pr` contract)."""
    with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as conn:
        row = conn.execute(
            "INSERT INTO incidents (cluster, namespace, resource_kind, resource_name, family, join_key, title, "
            "priority, status) VALUES (%s, %s, 'Deployment', %s, 'crashloop', %s, %s, 2, %s) RETURNING id",
            (cluster, namespace, name, f"{cluster}/{namespace}/Deployment/{name}/crashloop",
             f"KubePodCrashLooping {namespace}/{name}", status)).fetchone()
        assert row is not None
        incident_id = int(row["id"])
        diagnosis = {"category": "oom_killed", "root_cause": "memory limit below the working set",
                     "affected": [{"kind": "Deployment", "namespace": namespace, "name": name}]}
        branch = BRANCH.format(id=incident_id)
        pr = {"url": f"https://github.example/{repo}/pull/{number}" if number else f"{branch} (pushed)",
              "number": number, "repo": repo, "branch": branch, "base": "main", "commit": COMMIT,
              "compare_url": None}
        conn.execute("UPDATE incidents SET diagnosis = %s, pr = %s WHERE id = %s",
                     (Jsonb(diagnosis), Jsonb(pr), incident_id))
    return incident_id


def incident(conninfo: str, incident_id: int) -> dict[str, Any]:
    with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as conn:
        row = conn.execute("SELECT * FROM incidents WHERE id = %s", (incident_id,)).fetchone()
        assert row is not None
        row["timeline"] = conn.execute("SELECT kind, actor, message, data FROM incident_events "
                                       "WHERE incident_id = %s ORDER BY id", (incident_id,)).fetchall()
        row["work"] = conn.execute("SELECT kind, status FROM work_items WHERE incident_id = %s ORDER BY id",
                                   (incident_id,)).fetchall()
    return row


def apply_fix(sim: RunningSim) -> None:
    """What Argo CD would do after the merge: the scenario's `expect.fix` lands on the live object."""
    fix, resource = sim.scenario.expect.fix, sim.scenario.expect.resource
    assert fix is not None and resource is not None and not fix.recreate and not fix.create
    target = fix.target or resource
    with sim.store.lock:
        live = sim.store.get(target.kind, target.namespace, target.name)
        assert live is not None
        sim.store.put(apply_patch(live, fix))
        sim.controller.reconcile()


class VirtualClock:
    """Time that passes only when the code under test sleeps; a 600 s window takes no real time."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)
        await asyncio.sleep(0)
