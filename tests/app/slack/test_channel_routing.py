"""OPSGRAPH_SLACK_ROUTES: first matching rule picks the card's channel, else SLACK_CHANNEL; bad rules are named."""

from __future__ import annotations

import pytest

from app.slack.routing import RouteError, channel_for, parse_routes

ROUTES = "priority=1>C0PAGE; cluster=prod-*>C0PROD;namespace=payments>C0PAY"


@pytest.mark.parametrize(("cluster", "namespace", "priority", "channel"), [
    ("prod-eu", "payments", 1, "C0PAGE"),  # first match wins
    ("prod-eu", "payments", 2, "C0PROD"),
    ("staging", "payments", 3, "C0PAY"),
    ("staging", None, 3, "C0OPS"),  # nothing matches: the default channel
])
def test_first_matching_rule_picks_the_channel(cluster: str, namespace: str | None, priority: int, channel: str) -> None:
    assert channel_for(parse_routes(ROUTES), "C0OPS", cluster=cluster, namespace=namespace, priority=priority) == channel


def test_priority_rule_takes_that_priority_and_more_urgent_ones() -> None:
    rules = parse_routes("priority=2>C0HIGH")
    assert [channel_for(rules, None, cluster="c", namespace=None, priority=p) for p in (1, 2, 3)] == \
           ["C0HIGH", "C0HIGH", None]


@pytest.mark.parametrize("bad", ["team=payments>C0PAY", "cluster=prod", "cluster=>C0X", "priority=high>C0X",
                                 "cluster prod>C0X"])
def test_bad_rules_are_refused_by_name(bad: str) -> None:
    with pytest.raises(RouteError, match="bad Slack route"):
        parse_routes(f"cluster=prod>C0PROD;{bad}")


def test_no_rules_means_the_default_channel() -> None:
    assert parse_routes("") == [] and parse_routes(" ; ") == []
    assert channel_for([], "C0OPS", cluster="any", namespace="x", priority=4) == "C0OPS"
