"""A bare git repository seeded with a scenario's GitOps files: the remote the demo, the eval and the
tests push fixes to. Plain `git`, so the simulator needs nothing of ours."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

GIT_ENV = {"GIT_AUTHOR_NAME": "seed", "GIT_AUTHOR_EMAIL": "seed@example.com", "GIT_COMMITTER_NAME": "seed",
           "GIT_COMMITTER_EMAIL": "seed@example.com", "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True,
                            text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def write_files(root: Path, files: Mapping[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")


def seed_bare_repo(files: Mapping[str, str], path: Path, *, branch: str = "main") -> str:
    """A bare repo at `path` whose `branch` holds `files` in one commit; returns its URL (the path)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--bare", f"--initial-branch={branch}")
    seed = path.with_name(path.name + "-seed")
    git(path.parent, "clone", "--quiet", str(path), str(seed))
    git(seed, "checkout", "--quiet", "-b", branch)
    write_files(seed, files)
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "seed")
    git(seed, "push", "--quiet", "origin", branch)
    return str(path)
