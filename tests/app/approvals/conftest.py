"""Fixtures of the approval tests: `flow(scenario, **settings)` builds a cluster, repo and settings."""

from tests.support.approval_flow import flow, standin

__all__ = ["flow", "standin"]
