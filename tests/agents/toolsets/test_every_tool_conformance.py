"""One conformance spec for every tool in the registry (style.md): hostile arguments, oversized output,
planted secrets, prompt injection. A new tool is covered by adding its example arguments below; the
first test fails until it has them."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from agents.context import Context
from agents.safety.levels import SafetyLevel
from agents.toolsets import ToolRegistry, ToolResult, ToolStatus, default_registry
from app.knowledge.store import KnowledgeBase
from sim.runtime import RunningSim
from tests.agents.toolsets.conftest import INJECTION, PROMETHEUS_SECRET, SCENARIOS, WEB_SECRET, executor_for, pod_named

REGISTRY = default_registry()
# Read-only tools; the direct actions (low risk, remediation only, after approval) have their own spec in
# tests/agents/toolsets/test_direct_actions.py.
TOOLS = [s.name for s in REGISTRY.specs() if s.safety is SafetyLevel.READ_ONLY]
FORBIDDEN = [s.name for s in REGISTRY.specs() if s.safety is SafetyLevel.FORBIDDEN]

# Arguments that make each tool return a real answer on tests/agents/toolsets/scenarios/planted_secrets.yaml.
EXAMPLES: dict[str, dict[str, Any]] = {
    "list_pods": {"namespace": "payments"},
    "list_workloads": {"namespace": "payments"},
    "describe_pod": {"namespace": "payments", "name": "{api_pod}"},
    "describe_deployment": {"namespace": "payments", "name": "payments-api"},
    "describe_replicaset": {"namespace": "payments", "name": "{api_rs}"},
    "describe_statefulset": {"namespace": "payments", "name": "vault"},
    "describe_daemonset": {"namespace": "payments", "name": "node-agent"},
    "describe_node": {"name": "{api_node}"},
    "describe_service": {"namespace": "payments", "name": "payments-api"},
    "describe_pvc": {"namespace": "payments", "name": "data-vault-0"},
    "describe_service_account": {"namespace": "payments", "name": "default"},
    "get_events": {"namespace": "payments"},
    "get_logs": {"namespace": "payments", "name": "{api_pod}", "previous": True},
    "get_resource_yaml": {"kind": "Deployment", "namespace": "payments", "name": "payments-api"},
    "get_endpoints": {"namespace": "payments", "name": "payments-api"},
    "get_resource_usage": {"namespace": "payments"},
    "get_rollout_history": {"namespace": "payments", "name": "payments-api"},
    "prometheus_query": {"query": "container_memory_working_set_bytes{namespace=\"payments\"}"},
    "web_search": {"query": "payments-api exits with code 1"},
    "list_image_tags": {"image": "registry.example.com/payments/api:2.0.0"},
    "search_knowledge": {"query": "payments-api crash loop database password"},
}
# More calls that surface planted secrets the examples alone do not reach.
PROBES: list[tuple[str, dict[str, Any]]] = [
    ("get_resource_yaml", {"kind": "ConfigMap", "namespace": "payments", "name": "app-settings"}),
    ("get_resource_yaml", {"kind": "Secret", "namespace": "payments", "name": "db-credentials"}),
    ("get_resource_yaml", {"kind": "Pod", "namespace": "payments", "name": "{api_pod}"}),
    ("get_logs", {"namespace": "payments", "name": "{api_pod}"}),
    ("get_logs", {"namespace": "payments", "name": "{ledger_pod}"}),
    ("describe_deployment", {"namespace": "payments", "name": "ledger"}),
    ("get_events", {"namespace": "payments", "kind": "Deployment", "name": "payments-api"}),
]
# Every secret planted in the scenario, Prometheus and Tavily. None may come back from any tool.
PLANTED = [
    "planted-secret-stringdata-Zq81", "Pl4ntedDbPassw0rd", "wJalrXUtnFEMIK7MDENGbPxRfiCYPLANTEDKEY1",
    "planted-oauth-client-secret-77", "MIIEowIBAAKCAQEAplantedPrivateKeyMaterial", "PlantedGithubToken0123456789",
    "planted.bearer.token-9f8e7d6c5b4a", "hunter2-planted-env", "sk_live_PlantedStripeKey0123456789",
    "PlantedJwtSignature_abc123", "AIzaSyPlantedGcpKey0123456789abcdefghijk", "xoxb-planted-slack-token-0123456789",
    "hvs.PlantedVaultRootToken0123456789", "AKIAPLANTEDAWSKEY123", "plantedLogPassw0rd!",
    "glpat-PlantedGitlabToken0123", "PlantedCookieValue0123456789", "planted-api-key-in-event-5566",
    PROMETHEUS_SECRET, WEB_SECRET,
]

NAME_FIELDS = {"namespace", "name", "container", "kind", "label_selector"}
HOSTILE_NAMES = ["web 1", "ünïcödé", "../etc/passwd", "a" * 256, "$(rm -rf /)", "x;reboot", "`id`", "pod|cat"]
DNS_NAME_FIELDS = {"namespace", "name", "container"}  # where uppercase is wrong too


def _names(running: RunningSim) -> dict[str, str]:
    api_pod = pod_named(running, "payments", "payments-api-")
    pod = running.store.get("Pod", "payments", api_pod) or {}
    return {"api_pod": api_pod, "api_rs": api_pod.rsplit("-", 1)[0], "api_node": pod["spec"]["nodeName"],
            "ledger_pod": pod_named(running, "payments", "ledger-")}


def _fill(args: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {k: v.format(**names) if isinstance(v, str) and "{" in v and "=" not in v else v for k, v in args.items()}


def _everything(result: ToolResult) -> str:
    return "\n".join([result.text, result.message, result.as_model_content(),
                      json.dumps(result.data, default=str), json.dumps(result.args)])


def test_every_tool_has_example_arguments() -> None:
    assert sorted(EXAMPLES) == sorted(TOOLS), "add example arguments for new tools to EXAMPLES"


def test_the_scenario_really_plants_every_cluster_secret() -> None:
    text = (SCENARIOS / "planted_secrets.yaml").read_text()
    missing = [s for s in PLANTED if s not in text and s not in (PROMETHEUS_SECRET, WEB_SECRET)]
    assert missing == []


def _hostile_cases(tool: str) -> list[tuple[str, Any]]:
    example = EXAMPLES[tool]
    fields = REGISTRY.get(tool).params.model_json_schema()["properties"]  # type: ignore[union-attr]
    cases: list[tuple[str, Any]] = [("not an object", ["list", "of", "words"]),
                                    ("extra field", {**example, "rm": "-rf /"})]
    first = next(iter(example))
    cases.append(("wrong type", {**example, first: ["not", "a", "scalar"]}))
    for field in fields:
        if field in NAME_FIELDS:
            values = HOSTILE_NAMES + (["Web"] if field in DNS_NAME_FIELDS else [])
            cases += [(f"{field}={value[:12]!r}", {**example, field: value}) for value in values]
        if "string" in json.dumps(fields[field]):
            cases.append((f"{field} oversized", {**example, field: "x" * 10_001}))
            cases.append((f"{field} control chars", {**example, field: "ab\x00\x1b[31mcd"}))
    return cases


@pytest.mark.parametrize("tool", TOOLS)
async def test_hostile_arguments_are_errors_with_a_clear_message(tool: str, full_context: Context,
                                                                planted_kb: KnowledgeBase) -> None:
    executor, audit = executor_for(full_context, knowledge=planted_kb)
    for case, args in _hostile_cases(tool):
        result = await executor.call(tool, args)
        assert result.status is ToolStatus.ERROR, f"{tool} accepted {case}: {result.message}"
        assert result.message.startswith(f"invalid arguments for {tool}:"), (case, result.message)
        assert "\x00" not in result.message
    assert [row.status for row in audit.rows] == ["error"] * len(executor.calls)


@pytest.mark.parametrize("tool", TOOLS)
async def test_planted_secrets_never_come_back(tool: str, full_context: Context, planted_sim: RunningSim,
                                               planted_kb: KnowledgeBase) -> None:
    executor, audit = executor_for(full_context, knowledge=planted_kb)
    names = _names(planted_sim)
    calls = [(tool, EXAMPLES[tool])] + [(name, args) for name, args in PROBES if name == tool]
    for name, args in calls:
        result = await executor.call(name, _fill(args, names))
        assert result.status in (ToolStatus.OK, ToolStatus.NO_DATA), result.message
        leaked = [s for s in PLANTED if s in _everything(result)]
        assert leaked == [], f"{name} leaked {leaked}"
    assert not [s for s in PLANTED if s in json.dumps([r.model_dump(mode="json") for r in audit.rows])]


@pytest.mark.parametrize("tool", TOOLS)
async def test_oversized_output_is_capped_and_says_what_was_cut(tool: str, full_context: Context,
                                                                planted_sim: RunningSim,
                                                                planted_kb: KnowledgeBase) -> None:
    cap = 200
    small = ToolRegistry()
    for toolset in REGISTRY.toolsets():
        small.add_toolset(toolset, [dataclasses.replace(s, output_cap=cap) for s in REGISTRY.specs()
                                    if s.toolset == toolset.name])
    executor, _ = executor_for(full_context, small, knowledge=planted_kb)
    result = await executor.call(tool, _fill(EXAMPLES[tool], _names(planted_sim)))
    assert result.status is ToolStatus.OK, result.message
    assert result.bytes > cap, "the example must produce more than the cap for this check to bite"
    assert len(result.text) <= cap
    assert result.truncated
    assert "chars cut …]" in result.text


async def test_prompt_injection_stays_quoted_data_and_triggers_nothing(full_context: Context,
                                                                       planted_sim: RunningSim,
                                                                       planted_kb: KnowledgeBase) -> None:
    executor, audit = executor_for(full_context, knowledge=planted_kb)
    names = _names(planted_sim)
    seen_in = set()
    calls = [(tool, EXAMPLES[tool]) for tool in TOOLS] + PROBES
    for name, args in calls:
        result = await executor.call(name, _fill(args, names))
        content = result.as_model_content()
        assert content.count("<tool_output") == 1 and content.count("</tool_output>") == 1
        assert content.startswith(f'<tool_output tool="{name}"') and content.endswith("</tool_output>")
        if INJECTION in result.text or "IGNORE_PREVIOUS_INSTRUCTIONS" in result.text:
            seen_in.add(name)
    # Planted in a label, annotations, a log line, an event, a ConfigMap, Prometheus, the web and a runbook.
    assert {"describe_pod", "get_logs", "get_events", "get_resource_yaml", "prometheus_query",
            "web_search", "search_knowledge"} <= seen_in
    # Nothing acted on it: exactly the calls made, and no write or forbidden tool anywhere.
    assert [r.tool for r in executor.calls] == [name for name, _ in calls]
    assert [row.tool for row in audit.rows] == [name for name, _ in calls]


@pytest.mark.parametrize("tool", FORBIDDEN)
async def test_forbidden_tools_are_refused_and_never_offered(tool: str, full_context: Context) -> None:
    executor, audit = executor_for(full_context)
    result = await executor.call(tool, {"namespace": "payments", "name": "payments-api", "kind": "Pod"})
    assert result.status is ToolStatus.REFUSED
    assert result.message == (f"refused: {tool} is forbidden for every agent (it could destroy data or expose "
                              "secrets); continue with read-only tools.")
    assert audit.rows[0].status == "refused"
    offered = [t["function"]["name"] for t in REGISTRY.langchain_tools(context=full_context)]
    assert tool not in offered
