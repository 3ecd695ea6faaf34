"""Who approves is who is authenticated: per-approver tokens (only their hashes configured), and the short
hash people see on the card and timeline accepted when it starts the pending change's hash."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from app.api.approver_tokens import new_approver_token, token_hash
from tests.support.approval_flow import Flow, after_decision
from tests.support.service import service_env


async def test_the_token_owner_decides_and_a_short_hash_names_the_pending_change(flow: Callable[..., Flow]) -> None:
    alice, alice_entry = new_approver_token("alice")
    bob, bob_entry = new_approver_token("bob")
    run = flow(approver_tokens=f"{alice_entry},{bob_entry}")
    assert alice not in str(run.settings.model_dump()) and token_hash(alice) in run.settings.approver_tokens
    async with run.service() as client:
        incident = await run.alert(client)
        iid = incident["id"]
        full = (await client.get(f"/incidents/{iid}/approval")).json()["diff_hash"]
        url = f"/incidents/{iid}/approval"
        body = {"decision": "approve", "diff_hash": full[:12]}
        nobody = await client.post(url, json=body)
        assert nobody.status_code == 403 and "X-Approver-Token" in nobody.json()["detail"]
        forged = await client.post(url, json=body, headers={"X-Approver-Token": "ogat_guess"})
        assert forged.status_code == 403 and "not an approver's token" in forged.json()["detail"]
        posing = await client.post(url, json={**body, "approver": "bob"}, headers={"X-Approver-Token": alice})
        assert posing.status_code == 403 and "cannot decide as 'bob'" in posing.json()["detail"]
        too_short = await client.post(url, json={**body, "diff_hash": full[:11]}, headers={"X-Approver-Token": alice})
        assert too_short.status_code == 422
        other = "0" * 12 if not full.startswith("0" * 12) else "f" * 12
        superseded = await client.post(url, json={**body, "diff_hash": other}, headers={"X-Approver-Token": alice})
        assert superseded.status_code == 409 and "superseded" in superseded.json()["detail"]
        assert (await client.get(f"/incidents/{iid}")).json()["status"] == "awaiting_approval"
        answer = await client.post(url, json=body, headers={"X-Approver-Token": alice})
        assert answer.status_code == 202, answer.text
        assert answer.json()["approver"] == "alice" and answer.json()["diff_hash"] == full
        second = await client.post(url, json=body, headers={"X-Approver-Token": bob})
        done = await after_decision(client, iid)
        late = await client.post(url, json={**body, "diff_hash": full}, headers={"X-Approver-Token": bob})
    assert late.status_code == 409 and "already decided: approve by alice" in late.json()["detail"]
    assert second.status_code == 409 and "already decided: approve by alice" in second.json()["detail"]
    assert done["status"] == "remediating"
    assert [e["actor"] for e in done["timeline"] if e["kind"] == "approval"] == ["alice"]


def test_approver_token_command_prints_a_token_and_only_its_hash_for_the_settings() -> None:
    result = subprocess.run([sys.executable, "-m", "app.cli", "approver-token", "alice"], env=service_env(),
                            capture_output=True, text=True, timeout=60, check=True)
    token = result.stdout.split("): ")[1].splitlines()[0].strip()
    entry = result.stdout.rsplit(": ", 1)[1].strip()
    assert token.startswith("ogat_") and entry == f"alice:{token_hash(token)}" and token not in entry
