"""Fixtures of the Slack tests: the approval flow, with Slack pointed at a local stand-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from tests.support.approval_flow import Flow, flow, standin
from tests.support.slack_standin import BOT_TOKEN, SIGNING_SECRET, SlackStandIn, slack_standin

__all__ = ["flow", "standin"]


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with slack_standin() as running:
        yield running


@pytest.fixture
def slack_flow(flow: Callable[..., Flow], slack: SlackStandIn) -> Callable[..., Flow]:
    def build(scenario: str = "oom_memory_hog", **overrides: Any) -> Flow:
        return flow(scenario, **{
            "slack_bot_token": SecretStr(BOT_TOKEN), "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_channel": "C0OPS", "slack_api_url": slack.url, "slack_outbox_seconds": 0.05,
            "slack_approvers": "U0ALICE,U0BOB", **overrides})

    return build
