"""Fixtures of the HumanHelp tests: the approval flow's cluster, repo, GitHub stand-in and settings."""

from tests.support.approval_flow import flow, standin

__all__ = ["flow", "standin"]
