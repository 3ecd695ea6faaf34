"""Fixtures of the chat API tests: `flow(scenario, **settings)` builds a cluster, GitOps repo and settings."""

from tests.support.approval_flow import flow, standin

__all__ = ["flow", "standin"]
