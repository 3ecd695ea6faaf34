"""The check registry: one line per check (`@check("name")`), looked up by the names skills use."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from agents.rules.facts import Facts
from agents.rules.finding import Finding

Check = Callable[[Facts], Finding | None]

_CHECKS: dict[str, Check] = {}
_FAMILIES = ("containers", "config", "images", "probes", "scheduling", "services", "storage", "nodes",
             "admission", "certificates", "workloads", "security", "scaling", "rbac", "ingress")


class CheckRegistryError(Exception):
    pass


def check(name: str) -> Callable[[Check], Check]:
    """Register a check under `name`; a second check with the same name is an error."""

    def register(fn: Check) -> Check:
        if name in _CHECKS and _CHECKS[name] is not fn:
            raise CheckRegistryError(f"check {name!r} is registered twice ({_CHECKS[name].__module__} and {fn.__module__})")
        _CHECKS[name] = fn
        return fn

    return register


def checks() -> dict[str, Check]:
    """Every registered check by name (importing the check families on first use)."""
    for family in _FAMILIES:
        importlib.import_module(f"agents.rules.checks_{family}")
    return dict(_CHECKS)
