"""The YAML agent's repair loop with the scripted model: every problem goes back to the model until the
manifest checks clean, within the configured number of rounds."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.messages import HumanMessage

from agents.manifests.generate import ManifestRequest, generate_manifests, to_yaml
from testing.scripted_model import ScriptedChatModel, ScriptedTurn
from graphs.supervisor import run_config
from tests.graphs.conftest import Harness

BROKEN = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: "acme/api:latest"}]
"""
CLEAN = to_yaml(generate_manifests(ManifestRequest(image="acme/api:2.4.1", name="api", port=8080)))
HALF = CLEAN.replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false")


async def test_a_broken_manifest_is_repaired_in_bounded_rounds(harness: Callable[..., Harness]) -> None:
    model = ScriptedChatModel([
        ScriptedTurn(structured={"route": "yaml", "form": "check_manifest", "reason": "pasted"}),
        ScriptedTurn(structured={"yaml": HALF}),  # fixes most, not all
        ScriptedTurn(structured={"yaml": CLEAN}),
    ])
    h = harness("oom_memory_hog", model, incident_id="chat-yaml")
    result = await h.graph.ainvoke({"messages": [{"role": "user", "content": f"check this manifest:\n{BROKEN}"}]},
                                   run_config("chat-yaml", h.context.budgets), context=h.context)
    answer = result["answer"]
    assert answer["attempts"] == 2
    assert answer["report"]["problems"] == [] and answer["yaml"] == CLEAN
    original = {p["rule"] for p in answer["original"]["problems"]}
    assert {"image-pinned", "resources", "probes", "security-context", "labels"} <= original
    second_ask = [m for m in model.calls[2].messages if isinstance(m, HumanMessage)][-1].text
    assert "readOnlyRootFilesystem" in second_ask and "fails its checks" in second_ask
    assert "Repaired in 2 round(s)" in result["messages"][-1].content
    assert model.remaining == 0


async def test_the_loop_stops_after_its_rounds_and_reports_what_remains(harness: Callable[..., Harness]) -> None:
    model = ScriptedChatModel([
        ScriptedTurn(structured={"route": "yaml", "form": "check_manifest", "reason": "pasted"}),
        *[ScriptedTurn(structured={"yaml": HALF})] * 3,
    ])
    h = harness("oom_memory_hog", model, incident_id="chat-yaml-2")
    result = await h.graph.ainvoke({"messages": [{"role": "user", "content": f"check this manifest:\n{BROKEN}"}]},
                                   run_config("chat-yaml-2", h.context.budgets), context=h.context)
    answer = result["answer"]
    assert answer["attempts"] == 3  # ChatSetup's default
    assert [p["rule"] for p in answer["report"]["problems"]] == ["security-context"]
    assert "Still failing after 3 repair round(s)" in result["messages"][-2].content
    # Stuck: the turn goes to a person, with what the loop could not fix.
    [question] = result["__interrupt__"]
    assert question.value["reason"] == "the manifest still fails its checks after 3 repair round(s)"
    assert any("security-context" in line for line in question.value["tried"])
    assert "asked a person" in result["messages"][-1].content
