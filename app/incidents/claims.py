"""Change claims: which incident is proposing a change to which live object (`ChangeClaims` for agents/).

Claiming happens when a plan is ready for approval. Two incidents opened by one fault race here, so
the claim is one transaction over the objects in sorted order: the first takes them, the second
learns who holds them and is handed to a person with that incident's number instead of opening a
second pull request for the same change.
"""

from __future__ import annotations

import psycopg
from psycopg_pool import AsyncConnectionPool

# A holder in one of these states has let its change go (handed to a person after a rejection or a failed
# plan, reopened after a failed verification, or ended); in any other it is still planning or delivering it.
RELEASED_STATES = ("awaiting_human", "reopened", "resolved", "failed", "cancelled")

CLAIM = """
INSERT INTO change_claims AS c (cluster, object_key, incident_id) VALUES (%(cluster)s, %(key)s, %(incident)s)
ON CONFLICT (cluster, object_key) DO UPDATE SET incident_id = EXCLUDED.incident_id, claimed_at = now()
WHERE c.incident_id = EXCLUDED.incident_id
   OR NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = c.incident_id AND NOT i.status = ANY(%(released)s))
RETURNING incident_id"""
HOLDER = "SELECT incident_id FROM change_claims WHERE cluster = %s AND object_key = %s"


class ChangeClaimStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def claim(self, cluster: str, incident_id: str, objects: list[str]) -> str | None:
        """Claim every object for `incident_id`; None when it now holds them all, else the incident that
        holds one of them (and nothing is claimed)."""
        if not incident_id.isdigit():
            return None  # a chat thread's change: no incident, so no other incident can be proposing it
        held_by: str | None = None
        async with self.pool.connection() as conn, conn.transaction():
            for key in sorted(set(objects)):
                taken = await (await conn.execute(CLAIM, {"cluster": cluster, "key": key, "incident": int(incident_id),
                                                          "released": list(RELEASED_STATES)})).fetchone()
                if taken is None:
                    holder = await (await conn.execute(HOLDER, (cluster, key))).fetchone()
                    held_by = str(holder["incident_id"]) if holder else "another incident"
                    raise psycopg.Rollback()  # all or nothing: the claims this call took go too
        return held_by
