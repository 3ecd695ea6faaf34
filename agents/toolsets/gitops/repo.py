"""A working copy of the GitOps repo: clone, branch, commit, push — each step safe to repeat.

The remediation node may re-run after a crash or a resume, so every step is idempotent: an
existing branch (local or remote) is reused, a commit whose change is already in the tree is not
made again, and a push of what the remote already has is a no-op. Pushes race with humans and
bots on the same branch: a non-fast-forward rejection is fetched, rebased and retried once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from git import GitCommandError, Repo

from agents.errors import PermanentError, TemporaryError

GIT_TIMEOUT_SECONDS = 60
_UNREACHABLE = ("could not read from remote", "does not exist", "does not appear to be a git repository", "could not resolve host",
                "connection refused", "connection timed out", "timed out", "unable to access", "failed to connect",
                "network is unreachable", "no route to host", "repository not found")
_AUTH = ("authentication failed", "permission denied", "403", "401")
_REJECTED = ("non-fast-forward", "fetch first", "[rejected]", "updates were rejected")
# Never prompt for credentials in a worker; never read the host's or user's git config.
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": "true"}


class GitOpsRepo:
    """A clone of `url` in `work_dir` (created on first use, fetched afterwards)."""

    def __init__(self, url: str, work_dir: str | Path, *, base_branch: str = "main",
                 remote: str = "origin", timeout: float = GIT_TIMEOUT_SECONDS) -> None:
        self.url = url
        self.work_dir = Path(work_dir)
        self.base_branch = base_branch
        self.remote = remote
        self.timeout = timeout
        self._repo: Repo | None = None
        self.identity = ("opsgraph", "opsgraph@localhost")  # author and committer (rebases commit too)

    @property
    def repo(self) -> Repo:
        if self._repo is None:
            self._repo = self._open()
        return self._repo

    def _open(self) -> Repo:
        if (self.work_dir / ".git").exists():
            repo = Repo(self.work_dir)
            self._git(repo, "fetch", "--prune", self.remote)
            return repo
        self.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            return Repo.clone_from(self.url, self.work_dir, env=_ENV, kill_after_timeout=self.timeout,
                                   branch=self.base_branch)
        except GitCommandError as exc:
            raise _classify(exc, f"clone {self.url}") from None

    def tree(self) -> dict[str, str]:
        """Every text file of the current checkout: the `repo_tree` that plan_changes reads."""
        files: dict[str, str] = {}
        for path in self.repo.git.ls_files("-z").split("\0"):
            if not path:
                continue
            try:
                files[path] = (self.work_dir / path).read_text(encoding="utf-8")
            except (UnicodeDecodeError, FileNotFoundError):
                continue  # binaries and deleted files are not manifests
        return files

    def head(self) -> str:
        return self.repo.head.commit.hexsha

    def checkout_branch(self, name: str) -> None:
        """Check out `name`: the remote's if it exists, the local one if it exists, else new from base."""
        repo = self.repo
        remote_ref = f"{self.remote}/{name}"
        remote_has = remote_ref in {ref.name for ref in repo.remotes[self.remote].refs}
        if name in repo.heads:
            self._git(repo, "checkout", name)
            if remote_has and repo.is_ancestor(repo.heads[name].commit, repo.refs[remote_ref].commit):
                self._git(repo, "merge", "--ff-only", remote_ref)
        elif remote_has:
            self._git(repo, "checkout", "-b", name, "--track", remote_ref)
        else:
            self._git(repo, "checkout", "-b", name, f"{self.remote}/{self.base_branch}")

    def reverted_tree(self, commit: str) -> dict[str, str]:
        """The base branch's tree with `commit`'s change undone by git itself (merged, squashed or rebased:
        its reverse patch applied); nothing is committed and the checkout is left clean."""
        self.checkout_branch(self.base_branch)
        try:
            self._git(self.repo, "revert", "--no-commit", "--no-edit", commit)
            return self.tree()
        finally:
            self._git(self.repo, "reset", "--hard", "--quiet", "HEAD")

    def commit(self, files: Mapping[str, str], message: str, author_name: str, author_email: str) -> str:
        """Write `files` (path -> text) and commit them; the existing HEAD when nothing changed."""
        repo = self.repo
        for path, text in files.items():
            target = (self.work_dir / path).resolve()
            if not target.is_relative_to(self.work_dir.resolve()):
                raise PermanentError(f"refusing to write {path!r}: outside the GitOps repo")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        self.identity = (author_name, author_email)
        self._git(repo, "add", "--", *files)
        if not self._git(repo, "diff", "--cached", "--name-only").strip():
            return self.head()  # the branch already has this change: no empty commit
        self._git(repo, "commit", "--no-verify", "--quiet", "-m", message)
        return self.head()

    def push(self, branch: str) -> None:
        """Push `branch`; on a non-fast-forward rejection fetch, rebase onto the remote and retry once."""
        repo = self.repo
        try:
            self._git(repo, "push", self.remote, f"{branch}:{branch}")
            return
        except PermanentError as exc:
            if not any(marker in str(exc).lower() for marker in _REJECTED):
                raise
        self._git(repo, "fetch", self.remote, branch)
        try:
            self._git(repo, "rebase", f"{self.remote}/{branch}")
        except PermanentError:
            self._git(repo, "rebase", "--abort")
            raise PermanentError(f"push of {branch} to the GitOps repo failed: it conflicts with commits pushed "
                                 "there meanwhile; the branch needs a human") from None
        try:
            self._git(repo, "push", self.remote, f"{branch}:{branch}")
        except PermanentError as exc:
            raise PermanentError(f"push of {branch} to the GitOps repo was rejected twice "
                                 f"(someone keeps pushing to it); giving up: {_first_line(str(exc))}") from None

    def _git(self, repo: Repo, *args: str) -> str:
        name, email = self.identity
        env = dict(os.environ, **_ENV, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_NAME=name,
                   GIT_COMMITTER_EMAIL=email)
        try:
            return str(repo.git.execute(["git", "-c", "commit.gpgsign=false", *args], env=env,
                                        kill_after_timeout=self.timeout))
        except GitCommandError as exc:
            raise _classify(exc, f"git {args[0]}") from None


def _classify(exc: GitCommandError, what: str) -> PermanentError | TemporaryError:
    detail = " ".join(str(exc.stderr or exc).split())
    lowered = detail.lower()
    if any(marker in lowered for marker in _REJECTED):
        return PermanentError(f"{what} rejected: {detail}")
    if any(marker in lowered for marker in _AUTH):
        return PermanentError(f"GitOps repo refused the credentials ({what}): {_first_line(detail)}")
    if any(marker in lowered for marker in _UNREACHABLE) or exc.status in (-9, -15):
        return TemporaryError(f"GitOps repo unreachable: {what} failed: {_first_line(detail)}", delay=60.0)
    return PermanentError(f"{what} failed: {_first_line(detail)}")


def _first_line(text: str) -> str:
    text = text.strip().removeprefix("stderr:").strip().strip("'")
    return text[:300]
