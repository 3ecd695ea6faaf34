"""Kubernetes resource quantities: parse `100Mi`, `200M`, `10m`, `1.5Gi`, and format memory for people."""

from __future__ import annotations

import math
import re

_SUFFIX = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "P": 1e15, "E": 1e18,
}
_QUANTITY = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|K|M|G|T|P|E)?\s*$")


def parse_quantity(value: object) -> float | None:
    """The quantity in base units (bytes or cores), or None when it is not a quantity."""
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value)
    if not match:
        return None
    return float(match.group(1)) * _SUFFIX[match.group(2) or ""]


def format_mebibytes(size: float) -> str:
    """`~201Mi`-style wording for an amount of memory (whole Mi, or Gi above 10Gi)."""
    mib = size / 2**20
    if mib >= 10 * 1024:
        return f"{mib / 1024:.0f}Gi"
    return f"{mib:.0f}Mi"


def memory_with_headroom(used: float, *, factor: float = 1.25, step_mib: int = 64) -> str:
    """A memory limit above `used` by `factor`, rounded up to a multiple of `step_mib` (e.g. 201Mi -> 256Mi)."""
    mib = math.ceil(used * factor / 2**20 / step_mib) * step_mib
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def request_with_headroom(used: float, resource: str) -> str:
    """A request 25 % above measured use: CPU rounded up to 10m, memory as `memory_with_headroom`."""
    if resource == "cpu":
        return f"{max(10, math.ceil(used * 1.25 * 100) * 10)}m"
    return memory_with_headroom(used)
