"""GitOpsRepo against real git: a local bare repo seeded from a scenario is the remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.errors import PermanentError, TemporaryError
from agents.toolsets.gitops import GitOpsRepo
from sim.scenario import find_scenario, load_scenario
from tests.support.gitops import git, push_from_elsewhere, seed_bare_repo

BRANCH = "opsgraph/incident-42"
DEPLOYMENT = "apps/memory-hog/deployment.yaml"


@pytest.fixture
def remote(tmp_path: Path) -> str:
    return seed_bare_repo(load_scenario(find_scenario("oom_memory_hog")).gitops.files, tmp_path / "gitops.git")


def _fixed(repo: GitOpsRepo) -> dict[str, str]:
    return {DEPLOYMENT: repo.tree()[DEPLOYMENT].replace("memory: 100Mi", "memory: 256Mi")}


def _deliver(url: str, work_dir: Path) -> str:
    """What the remediation node does: clone, branch, commit, push."""
    repo = GitOpsRepo(url, work_dir)
    repo.checkout_branch(BRANCH)
    sha = repo.commit(_fixed(repo), "Raise memory-hog memory limit to 256Mi", "opsgraph", "opsgraph@example.com")
    repo.push(BRANCH)
    return sha


def _remote_log(url: str, ref: str) -> list[str]:
    return git(Path(url), "log", "--format=%s|%an <%ae>", ref).splitlines()


def test_commit_and_push_make_a_branch_with_one_commit(remote: str, tmp_path: Path) -> None:
    sha = _deliver(remote, tmp_path / "work")
    assert git(Path(remote), "rev-parse", BRANCH).strip() == sha
    assert _remote_log(remote, BRANCH) == ["Raise memory-hog memory limit to 256Mi|opsgraph <opsgraph@example.com>",
                                           "seed|seed <seed@example.com>"]
    assert git(Path(remote), "diff", "--stat", "main", BRANCH).strip().startswith(DEPLOYMENT)
    assert "memory: 100Mi" in git(Path(remote), "show", f"main:{DEPLOYMENT}")  # main untouched


def test_running_twice_makes_one_commit_and_one_branch(remote: str, tmp_path: Path) -> None:
    first = _deliver(remote, tmp_path / "work")
    again_same_dir = _deliver(remote, tmp_path / "work")
    again_fresh_clone = _deliver(remote, tmp_path / "other-worker")
    assert first == again_same_dir == again_fresh_clone
    assert len(_remote_log(remote, BRANCH)) == 2
    assert git(Path(remote), "for-each-ref", "--format=%(refname:short)", "refs/heads").split() == ["main", BRANCH]


def test_no_empty_commit_when_nothing_changes(remote: str, tmp_path: Path) -> None:
    repo = GitOpsRepo(remote, tmp_path / "work")
    repo.checkout_branch(BRANCH)
    before = repo.head()
    assert repo.commit({DEPLOYMENT: repo.tree()[DEPLOYMENT]}, "nothing", "opsgraph", "o@example.com") == before


def test_non_fast_forward_push_is_rebased_and_retried_once(remote: str, tmp_path: Path) -> None:
    repo = GitOpsRepo(remote, tmp_path / "work")
    repo.checkout_branch(BRANCH)
    ours = repo.commit(_fixed(repo), "Raise the limit", "opsgraph", "o@example.com")
    theirs = push_from_elsewhere(remote, BRANCH, {"README.md": "someone else was here\n"}, tmp_path / "human",
                                 "docs: a note")
    repo.push(BRANCH)
    log = _remote_log(remote, BRANCH)
    assert [line.split("|")[0] for line in log] == ["Raise the limit", "docs: a note", "seed"]
    assert git(Path(remote), "rev-parse", f"{BRANCH}~1").strip() == theirs
    assert git(Path(remote), "rev-parse", BRANCH).strip() != ours  # rebased: a new sha, same change


def test_a_conflicting_push_gives_up_with_one_clear_sentence(remote: str, tmp_path: Path) -> None:
    repo = GitOpsRepo(remote, tmp_path / "work")
    repo.checkout_branch(BRANCH)
    repo.commit(_fixed(repo), "Raise the limit", "opsgraph", "o@example.com")
    text = repo.tree()[DEPLOYMENT].replace("memory: 256Mi", "memory: 1Gi")
    push_from_elsewhere(remote, BRANCH, {DEPLOYMENT: text}, tmp_path / "human", "a different limit")
    with pytest.raises(PermanentError) as caught:
        repo.push(BRANCH)
    assert str(caught.value) == (f"push of {BRANCH} to the GitOps repo failed: it conflicts with commits pushed "
                                 "there meanwhile; the branch needs a human")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("url", ["{tmp}/no-such-repo.git", "http://127.0.0.1:9/gitops.git"],
                         ids=["missing-path", "closed-port"])
def test_unreachable_remote_is_a_temporary_error(url: str, tmp_path: Path) -> None:
    repo = GitOpsRepo(url.format(tmp=tmp_path), tmp_path / "work", timeout=20)
    with pytest.raises(TemporaryError) as caught:
        repo.checkout_branch(BRANCH)
    assert str(caught.value).startswith("GitOps repo unreachable: clone ")
    assert caught.value.delay > 0


def test_a_branch_someone_already_pushed_is_reused(remote: str, tmp_path: Path) -> None:
    theirs = push_from_elsewhere(remote, BRANCH, {"README.md": "started by hand\n"}, tmp_path / "human", "wip")
    repo = GitOpsRepo(remote, tmp_path / "work")
    repo.checkout_branch(BRANCH)
    assert repo.head() == theirs
    assert repo.tree()["README.md"] == "started by hand\n"


def test_writes_outside_the_repo_are_refused(remote: str, tmp_path: Path) -> None:
    repo = GitOpsRepo(remote, tmp_path / "work")
    repo.checkout_branch(BRANCH)
    with pytest.raises(PermanentError, match="outside the GitOps repo"):
        repo.commit({"../escape.yaml": "x: 1\n"}, "m", "a", "a@example.com")
