"""IncidentMemory: what each ended fix taught us, kept by alert fingerprint and workload.

`remember(incident_id)` runs when a merged fix's verification ends (healthy: it held; still failing: it
did not), and a sweep (`remember_ended`, every minute) catches every other ended incident; it records the root cause, evidence, the fix, its PR and the outcome, in `incident_memory`
and as a searchable `incident` document in the knowledge base. It is idempotent, so a retried
verification item records the same row again. `seen_before` is the `IncidentHistory` the diagnostics
graph asks: earlier incidents of the same workload or alert fingerprint, most recent first.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from agents.context import Context
from agents.diagnosis import IncidentInput
from agents.knowledge.history import PastIncident, SeenBefore
from agents.knowledge.markdown import Chunk
from app.knowledge.store import KnowledgeBase, KnowledgeDocument, Stored

log = logging.getLogger(__name__)

SELECT_ENDED = """
SELECT i.id, i.cluster, i.namespace, i.resource_kind, i.resource_name, i.status, i.status_reason, i.diagnosis, i.pr,
       v.outcome, v.summary, v.pr_number,
       coalesce((SELECT array_agg(DISTINCT a.fingerprint) FROM incident_alerts a WHERE a.incident_id = i.id), '{}')
           AS fingerprints,
       coalesce((SELECT array_agg(DISTINCT a.alertname) FROM incident_alerts a WHERE a.incident_id = i.id), '{}')
           AS alertnames
FROM incidents i LEFT JOIN incident_verifications v ON v.incident_id = i.id
WHERE i.id = %s"""
UPSERT_MEMORY = """
INSERT INTO incident_memory (incident_id, cluster, namespace, workload_kind, workload_name, fingerprints, alertnames,
                             category, root_cause, evidence, fixes, pr_number, pr_url, held, outcome)
VALUES (%(incident_id)s, %(cluster)s, %(namespace)s, %(workload_kind)s, %(workload_name)s, %(fingerprints)s,
        %(alertnames)s, %(category)s, %(root_cause)s, %(evidence)s, %(fixes)s, %(pr_number)s, %(pr_url)s, %(held)s,
        %(outcome)s)
ON CONFLICT (incident_id) DO UPDATE SET
    category = excluded.category, root_cause = excluded.root_cause, evidence = excluded.evidence,
    fixes = excluded.fixes, pr_number = excluded.pr_number, pr_url = excluded.pr_url, held = excluded.held,
    outcome = excluded.outcome, fingerprints = excluded.fingerprints, alertnames = excluded.alertnames"""
SEEN_BEFORE = """
WITH matches AS (
    SELECT * FROM incident_memory
    WHERE incident_id <> %(incident_id)s AND cluster = %(cluster)s AND ended_at >= now() - %(lookback)s
      AND ((%(kind)s::text IS NOT NULL AND workload_kind = %(kind)s AND workload_name = %(name)s
            AND namespace IS NOT DISTINCT FROM %(namespace)s)
           OR fingerprints && %(fingerprints)s::text[])
)
SELECT *, count(*) OVER () AS times FROM matches ORDER BY ended_at DESC, incident_id DESC LIMIT %(max_items)s"""


SELECT_UNREMEMBERED = """
SELECT i.id FROM incidents i
WHERE i.closed_at IS NOT NULL AND i.diagnosis IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM incident_memory m WHERE m.incident_id = i.id)
ORDER BY i.closed_at LIMIT %s"""
SWEEP_SECONDS = 60.0  # ended incidents (their alerts cleared, cancelled, failed) are remembered within a minute


class IncidentMemory:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]], knowledge: KnowledgeBase) -> None:
        self.pool, self.knowledge = pool, knowledge

    async def remember(self, incident_id: int) -> PastIncident | None:
        """Record how this incident ended; None when it has no diagnosis to learn from."""
        async with self.pool.connection() as conn:
            row = await (await conn.execute(SELECT_ENDED, (incident_id,))).fetchone()
        if row is None or not row["diagnosis"]:
            return None
        diagnosis, pr = row["diagnosis"], row["pr"] or {}
        kind, name = row["resource_kind"], row["resource_name"]
        affected = (diagnosis.get("affected") or [{}])[0]
        if not (kind and name) and affected.get("kind") and affected.get("name"):
            kind, name = affected["kind"], affected["name"]
        held = {"healthy": True, "failing": False}.get(row["outcome"])
        outcome = row["summary"] or row["status_reason"] or row["status"]
        values = {
            "incident_id": incident_id, "cluster": row["cluster"], "namespace": row["namespace"],
            "workload_kind": kind, "workload_name": name, "fingerprints": list(row["fingerprints"]),
            "alertnames": list(row["alertnames"]), "category": diagnosis.get("category"),
            "root_cause": diagnosis.get("root_cause"), "evidence": Jsonb(diagnosis.get("evidence") or []),
            "fixes": Jsonb(diagnosis.get("suggested_fixes") or []), "pr_number": row["pr_number"] or pr.get("number"),
            "pr_url": pr.get("url"), "held": held, "outcome": outcome,
        }
        async with self.pool.connection() as conn:
            await conn.execute(UPSERT_MEMORY, values)
        past = PastIncident(incident_id=incident_id, ended_at="", category=values["category"],
                            root_cause=values["root_cause"], fixes=diagnosis.get("suggested_fixes") or [],
                            pr_number=values["pr_number"], pr_url=values["pr_url"], held=held, outcome=outcome)
        await self._store_document(row, past, kind, name, diagnosis)
        return past

    async def _store_document(self, row: dict[str, Any], past: PastIncident, kind: str | None, name: str | None,
                              diagnosis: dict[str, Any]) -> Stored:
        where = f"{kind or 'workload'} {row['namespace'] or '-'}/{name or '-'} on cluster {row['cluster']}"
        evidence = "\n".join(f"- {e.get('tool')}: {e.get('excerpt')}" for e in diagnosis.get("evidence") or [])
        fixes = "\n".join(f"- {f.get('field_path')} = {f.get('new_value')!r}: {f.get('rationale')}"
                          for f in past.fixes) or "- none proposed"
        text = (f"Root cause: {past.root_cause}\n\nEvidence:\n{evidence or '- none recorded'}\n\nFix ({past.fix_words}"
                f"{', ' + past.pr_url if past.pr_url else ''}):\n{fixes}\n\nAfter the merge: {past.held_words}. "
                f"{past.outcome}")
        document = KnowledgeDocument(
            source="incident", doc_key=f"incident:{past.incident_id}",
            title=f"incident {past.incident_id}: {past.category} in {where}",
            chunks=[Chunk(f"incident {past.incident_id}: {past.category} in {where}", text)],
            skill=diagnosis.get("skill"), cluster=row["cluster"], namespace=row["namespace"], kind=kind)
        return await self.knowledge.store(document)

    async def remember_ended(self, limit: int = 50) -> list[int]:
        """Remember incidents that ended without a verified fix (alerts cleared, cancelled, failed), and any a
        crashed verification left out; the periodic sweep calls this. Returns the incidents remembered."""
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(SELECT_UNREMEMBERED, (limit,))).fetchall()
        remembered = []
        for row in rows:
            if await self.remember(int(row["id"])) is not None:
                remembered.append(int(row["id"]))
        return remembered

    async def seen_before(self, context: Context, incident: IncidentInput, *, lookback: timedelta,
                          max_items: int) -> SeenBefore | None:
        """Earlier incidents of the same workload or alert fingerprint, within `lookback`, most recent first."""
        resource = incident.resource
        fingerprints = sorted({str(a["fingerprint"]) for a in incident.alerts if a.get("fingerprint")})
        params = {"incident_id": int(context.incident_id) if context.incident_id.isdigit() else -1,
                  "cluster": incident.cluster, "lookback": lookback, "kind": resource.kind if resource else None,
                  "name": resource.name if resource else None, "namespace": incident.namespace,
                  "fingerprints": fingerprints, "max_items": max(1, max_items)}
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(SEEN_BEFORE, params)).fetchall()
        if not rows:
            return None
        items = [PastIncident(incident_id=r["incident_id"], ended_at=r["ended_at"].isoformat(), category=r["category"],
                              root_cause=r["root_cause"], fixes=r["fixes"] or [], pr_number=r["pr_number"],
                              pr_url=r["pr_url"], held=r["held"], outcome=r["outcome"]) for r in rows]
        return SeenBefore(times=int(rows[0]["times"]), items=items)
