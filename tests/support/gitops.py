"""Real git for the GitOps tests: a bare repo seeded from a scenario's `gitops.files`, and the
scenario's canonical fix as (object, field path, value) changes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agents.diagnosis import ResourceRef
from agents.toolsets.gitops import REMOVE
from agents.toolsets.gitops.fieldpath import MISSING, parse_path, resolve
from sim.gitops import git as sim_git
from sim.gitops import seed_bare_repo, write_files
from sim.scenario import Scenario

__all__ = ["canonical_changes", "git", "push_from_elsewhere", "seed_bare_repo", "write_files"]



def git(cwd: Path, *args: str) -> str:
    try:
        return sim_git(cwd, *args)
    except RuntimeError as exc:
        raise AssertionError(str(exc)) from None


def push_from_elsewhere(url: str, branch: str, files: Mapping[str, str], workdir: Path, message: str) -> str:
    """Someone else pushes `files` to `branch` (created from main when absent); returns their sha."""
    git(workdir.parent, "clone", "--quiet", url, str(workdir))
    remote_branches = git(workdir, "branch", "-r")
    if f"origin/{branch}" in remote_branches:
        git(workdir, "checkout", "--quiet", branch)
    else:
        git(workdir, "checkout", "--quiet", "-b", branch)
    write_files(workdir, files)
    git(workdir, "add", "-A")
    git(workdir, "commit", "--quiet", "-m", message)
    git(workdir, "push", "--quiet", "origin", branch)
    return git(workdir, "rev-parse", "HEAD").strip()


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Field paths of a strategic-merge patch's leaves (named list items as `[name=x]`)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and all(isinstance(i, dict) and "name" in i for i in value):
        for item in value:
            for key, child in item.items():
                if key != "name":
                    yield from _leaves(child, f"{prefix}[name={item['name']}].{key}")
    else:
        yield prefix, value


def canonical_changes(scenario: Scenario) -> list[tuple[ResourceRef, str, Any]]:
    """The scenario's fix as changes to the live object.

    `expect.fix.field` when it is a field of the object (its value taken from the patch when the
    patch has it: the patch is the exact text, `value` the words a reviewer reads); otherwise
    (a kustomization `images[...]` field) derived from the patch's leaves. `null` removes.
    """
    fix, expect = scenario.expect.fix, scenario.expect
    assert fix is not None and expect.resource is not None
    target = fix.target or expect.resource
    ref = ResourceRef(kind=target.kind, namespace=target.namespace, name=target.name)
    if fix.field and not fix.field.startswith("images["):
        from_patch = resolve(fix.patch, parse_path(fix.field)) if fix.patch else MISSING
        value = fix.value if from_patch is MISSING else from_patch
        if isinstance(value, dict) and None in value.values():
            # A merge patch's null removes a key: one change per key, the removals as REMOVE.
            changes = [(f'{fix.field}["{key}"]', item) for key, item in value.items()]
        else:
            changes = [(fix.field, value)]
    else:
        changes = list(_leaves(fix.patch or {}))
    return [(ref, field, REMOVE if value is None else value) for field, value in changes]
