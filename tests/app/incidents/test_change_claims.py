"""One fault, one pull request: two incidents about the same object race for it, and the second learns
who holds it; once the holder lets the change go, the object can be taken over."""

from __future__ import annotations

import asyncio
from typing import Any

from app.incidents.claims import ChangeClaimStore
from app.incidents.status import IncidentStatus
from tests.app.incidents.test_ingest_delivery import alert, batch, rows, store


async def _two_incidents(pool: Any) -> list[int]:
    incidents = store(pool)
    first = await incidents.ingest(batch(await alert("a1", alertname="KubeDeploymentReplicasMismatch")))
    second = await incidents.ingest(batch(await alert("b2", pod="", alertname="KubeQuotaFullyUsed",
                                                      resourcequota="compute")))
    ids = sorted({*first.incident_ids, *second.incident_ids})
    assert len(ids) == 2
    return ids


async def test_two_incidents_racing_for_one_object_get_one_claim(db_pool: Any) -> None:
    one, two = await _two_incidents(db_pool)
    claims = ChangeClaimStore(db_pool)
    objects = ["ResourceQuota/shop/compute"]
    answers = await asyncio.gather(claims.claim("default", str(one), objects), claims.claim("default", str(two), objects))
    assert answers.count(None) == 1  # exactly one incident holds the object
    holder, loser_answer = (one, answers[1]) if answers[0] is None else (two, answers[0])
    assert loser_answer == str(holder)  # and the other is told which
    assert await rows(db_pool, "SELECT incident_id FROM change_claims") == [{"incident_id": holder}]
    assert await claims.claim("default", str(holder), objects) is None  # the holder claiming again keeps it
    assert await claims.claim("other-cluster", str(two if holder == one else one), objects) is None


async def test_a_claim_on_several_objects_is_all_or_nothing(db_pool: Any) -> None:
    one, two = await _two_incidents(db_pool)
    claims = ChangeClaimStore(db_pool)
    assert await claims.claim("default", str(one), ["Deployment/shop/checkout"]) is None
    assert await claims.claim("default", str(two), ["ConfigMap/shop/a", "Deployment/shop/checkout"]) == str(one)
    assert await rows(db_pool, "SELECT object_key FROM change_claims ORDER BY 1") == [
        {"object_key": "Deployment/shop/checkout"}]


async def test_a_holder_handed_to_a_person_releases_the_object(db_pool: Any) -> None:
    one, two = await _two_incidents(db_pool)
    claims = ChangeClaimStore(db_pool)
    incidents = store(db_pool)
    assert await claims.claim("default", str(one), ["Deployment/shop/checkout"]) is None
    await incidents.transition(one, IncidentStatus.DIAGNOSING, actor="test", message="diagnosing")
    assert await claims.claim("default", str(two), ["Deployment/shop/checkout"]) == str(one)
    await incidents.transition(one, IncidentStatus.AWAITING_HUMAN, actor="test", message="rejected",
                               reason="rejected by bob")
    assert await claims.claim("default", str(two), ["Deployment/shop/checkout"]) is None
