"""An image registry's tag list for the scenario's world (the OCI distribution API, `GET /v2/<name>/tags/list`).

The simulated cluster pulls images by the scenario's `world.images` facts; the same facts answer a registry
client, so the tags a pull finds and the tags a registry lists are one truth. The server serves it for any
registry host (a client points a mirror at the simulator), so a repository is matched by its path.
"""

from __future__ import annotations

from typing import Any

from sim.scenario import Scenario


def _path(key: str) -> str:
    """A world image key (`nginx`, `registry.example.com/team/api`) as the path a registry serves it under."""
    # The reference rules of agents/toolsets/registry_tags.split_reference, restated: sim imports nothing of ours.
    name = key.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        name = rest  # the host is the mirror's business
    return name if "/" in name else f"library/{name}"


def tag_list(scenario: Scenario, path: str) -> dict[str, Any] | None:
    """The registry's answer for repository `path`, or None when the world has no such repository."""
    tags: list[str] = []
    found = False
    for key, facts in scenario.world.images.items():
        if _path(key) != path and _path(key) != f"library/{path}":
            continue
        found = True
        last = key.rsplit("/", 1)[-1]
        if ":" in last:
            tags.append(last.split(":", 1)[1])
        tags.extend(facts.tags or [])
    if not found:
        return None
    return {"name": path, "tags": sorted(set(tags))}
