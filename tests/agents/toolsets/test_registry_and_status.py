"""The registry: one declaration per tool, duplicates are load errors, and only available tools are offered."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agents.context import ClusterRef, Context
from agents.safety.validation import ToolParams
from agents.toolsets import ToolOutput, ToolRegistry, ToolRegistryError, Toolset, default_registry, toolset_statuses

READ_ONLY_TOOLS = [
    "list_pods", "list_workloads", "describe_pod", "describe_deployment", "describe_replicaset",
    "describe_statefulset", "describe_daemonset", "describe_node", "describe_service", "describe_pvc", "get_events", "get_logs",
    "describe_service_account",
    "get_resource_yaml", "get_endpoints", "get_resource_usage", "get_rollout_history", "list_image_tags",
    "prometheus_query", "web_search", "search_knowledge",
]
OPTIONAL = 4  # the last four: registry tags and knowledge (enabled), prometheus and web search (and configured)
CONTEXT = Context("inc", ClusterRef("sim", None, None))


def test_every_contract_tool_is_registered() -> None:
    names = default_registry().names()
    assert sorted(names) == sorted([*READ_ONLY_TOOLS, "rollout_restart", "scale", "delete_resource", "exec_in_pod",
                                    "read_secret_values"])


def test_duplicate_tool_name_is_a_load_error() -> None:
    registry = default_registry()
    with pytest.raises(ToolRegistryError, match="duplicate tool name 'get_logs'"):
        registry.register(dataclasses.replace(registry.get("get_logs"), toolset="other"))  # type: ignore[arg-type]


def test_unknown_transformer_and_double_declaration_are_load_errors() -> None:
    toolset = Toolset("t", description="")

    def fn(env, p):  # type: ignore[no-untyped-def]
        """Doc."""
        return ToolOutput("")

    with pytest.raises(ToolRegistryError, match="unknown transformers"):
        toolset.tool(params=ToolParams, transformers=("redact", "summarise_magic"))(fn)
    toolset.tool(params=ToolParams)(fn)
    with pytest.raises(ToolRegistryError, match="declared twice"):
        toolset.tool(params=ToolParams)(fn)


def test_specs_by_unknown_name_is_a_load_error() -> None:
    with pytest.raises(ToolRegistryError, match=r"unknown tools \['get_pod'\]"):
        default_registry().specs(["describe_pod", "get_pod"])


@pytest.mark.parametrize(("extra", "offered"), [
    ({}, set()),
    ({"enabled_toolsets": frozenset({"kubernetes", "prometheus", "web_search"})}, set()),
    ({"enabled_toolsets": frozenset({"kubernetes", "prometheus", "web_search"}), "prometheus_url": "http://p:9090",
      "tavily_api_key": "tvly-x"}, {"prometheus_query", "web_search"}),
    ({"enabled_toolsets": frozenset({"kubernetes", "registry"})}, {"list_image_tags"}),
], ids=["defaults", "enabled but unconfigured", "enabled and configured", "registry needs no configuration"])
def test_optional_tools_are_offered_only_when_configured(extra: dict, offered: set[str]) -> None:  # type: ignore[type-arg]
    context = dataclasses.replace(CONTEXT, **extra)
    names = {t["function"]["name"] for t in default_registry().langchain_tools(context=context)}
    assert names - set(READ_ONLY_TOOLS[:-OPTIONAL]) == offered
    assert not names & {"delete_resource", "exec_in_pod", "read_secret_values"}


def test_tool_definitions_carry_the_json_schema() -> None:
    (definition,) = default_registry().langchain_tools(["get_logs"])
    function = definition["function"]
    assert function["name"] == "get_logs" and function["description"].startswith("A container's log")
    params = function["parameters"]
    assert params["required"] == ["namespace", "name"] and params["additionalProperties"] is False
    assert params["properties"]["tail_lines"]["maximum"] == 2000


def test_toolset_statuses_say_why(tmp_path: Path) -> None:
    context = Context("inc", ClusterRef("prod", tmp_path / "kubeconfig", "prod"),
                      enabled_toolsets=frozenset({"kubernetes", "prometheus"}), tavily_api_key="tvly-x")
    statuses = {s.name: (s.enabled, s.reason) for s in toolset_statuses(context)}
    assert statuses["kubernetes"][0] is True and statuses["kubernetes"][1].startswith("prerequisites met; tools: list_pods")
    assert statuses["prometheus"] == (False, "no Prometheus URL configured (OPSGRAPH_PROMETHEUS_URL)")
    assert statuses["web_search"] == (False, "not in the enabled toolsets")
    assert statuses["forbidden"] == (False, "never offered: its tools are forbidden; registered so calls are "
                                            "refused explicitly")


def test_registry_can_hold_test_variants() -> None:
    source = default_registry()
    registry = ToolRegistry()
    kubernetes = source.toolset("kubernetes")
    assert kubernetes is not None
    registry.add_toolset(kubernetes, [dataclasses.replace(s, output_cap=100) for s in kubernetes.specs])
    assert {s.output_cap for s in registry.specs()} == {100}


def test_a_toolset_no_agent_can_use_is_not_called_enabled() -> None:
    from agents.skills.loader import load_skills
    from agents.toolsets.status import agent_tools

    context = dataclasses.replace(CONTEXT, enabled_toolsets=frozenset({"kubernetes", "prometheus", "web_search",
                                                                        "knowledge"}),
                                  prometheus_url="http://p:9090", tavily_api_key="tvly-x")
    shipped = {s.name: (s.enabled, s.reason) for s in toolset_statuses(context, used_by=agent_tools(load_skills().tools()))}
    assert shipped["prometheus"] == (True, "prerequisites met; used by diagnostics; tools: prometheus_query")
    assert shipped["web_search"] == (True, "prerequisites met; used by diagnostics; tools: web_search")
    assert shipped["knowledge"] == (True, "prerequisites met; used by diagnostics, qa; tools: search_knowledge")
    # The same configuration with skills that list neither tool: configured, yet nobody can call them.
    unused = {s.name: (s.enabled, s.reason) for s in toolset_statuses(context, used_by={"diagnostics": {"get_logs"}})}
    assert unused["prometheus"] == (False, "no agent can use it: no skill or agent lists its tools (prometheus_query)")
    assert unused["web_search"] == (False, "no agent can use it: no skill or agent lists its tools (web_search)")
    assert unused["kubernetes"][0] is True
