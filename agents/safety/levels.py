"""Safety levels of tools, from the requirements: what a call at each level needs before it runs."""

from __future__ import annotations

from enum import StrEnum


class SafetyLevel(StrEnum):
    READ_ONLY = "read_only"  # runs without asking
    LOW_RISK = "low_risk"  # a person confirms first
    HIGH_RISK = "high_risk"  # a person approves first (the approval gate)
    FORBIDDEN = "forbidden"  # never runs: delete, exec into a pod, reading secret values

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {SafetyLevel.READ_ONLY: 0, SafetyLevel.LOW_RISK: 1, SafetyLevel.HIGH_RISK: 2, SafetyLevel.FORBIDDEN: 3}
