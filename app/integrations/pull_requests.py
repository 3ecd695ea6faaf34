"""The two ways a pushed branch becomes a pull request (agents.remediation.PullRequestOpener):
through the GitHub API when a token and repo are configured, or as a recorded compare URL."""

from __future__ import annotations

from agents.diagnosis import Diagnosis
from agents.remediation import PullRequestRecord
from agents.toolsets.gitops.plan import Plan
from app.integrations.github import GitHubClient, compare_url, github_repo_of
from app.integrations.pull_request_body import pull_request_title, render_pull_request_body
from app.settings import Settings


class GitHubPullRequests:
    def __init__(self, settings: Settings) -> None:
        assert settings.github_token is not None and settings.github_repo is not None
        self.settings = settings

    async def open(self, *, incident_id: str, branch: str, base: str, commit: str, diagnosis: Diagnosis,
                   plan: Plan) -> PullRequestRecord:
        settings = self.settings
        assert settings.github_token is not None and settings.github_repo is not None
        async with GitHubClient(settings.github_api_url, settings.github_token.get_secret_value(),
                                settings.github_repo) as github:
            existing = await github.find_open_pull_request(branch, base)
            pr = existing or await github.create_pull_request(
                branch, base, pull_request_title(diagnosis, plan),
                render_pull_request_body(diagnosis, plan, incident_id, commit_sha=commit))
        note = "an open pull request for this branch already existed" if existing else ""
        return PullRequestRecord(url=pr.url, number=pr.number, repo=settings.github_repo, branch=branch, base=base,
                                 commit=commit, note=note)


class CompareUrlOnly:
    """No GitHub token: the branch is pushed, and the compare URL a person opens the PR from is recorded."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def open(self, *, incident_id: str, branch: str, base: str, commit: str, diagnosis: Diagnosis,
                   plan: Plan) -> PullRequestRecord:
        # Without OPSGRAPH_GITHUB_REPO, the GitOps remote itself may say which GitHub repository it is.
        repo = self.settings.github_repo or github_repo_of(self.settings.gitops_repo_url, self.settings.github_web_url)
        url = compare_url(self.settings.github_web_url, repo, base, branch) if repo else f"{branch} (pushed)"
        return PullRequestRecord(url=url, branch=branch, base=base, commit=commit, repo=repo,
                                 compare_url=url if repo else None,
                                 note="no GitHub token: branch pushed and compare URL recorded; open the PR by hand")


def pull_request_opener(settings: Settings) -> GitHubPullRequests | CompareUrlOnly:
    if settings.github_token is not None and settings.github_repo is not None:
        return GitHubPullRequests(settings)
    return CompareUrlOnly(settings)
