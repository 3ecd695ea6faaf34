"""GitHubClient over real HTTP against the loopback stand-in: requests made, failures classified."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from agents.diagnosis import Diagnosis, ResourceRef
from agents.errors import PermanentError, TemporaryError
from agents.toolsets.gitops.plan import Plan
from app.integrations.github import GitHubClient, compare_url, github_repo_of
from app.integrations.pull_requests import CompareUrlOnly, pull_request_opener
from app.settings import Settings
from tests.support.github_standin import GitHubStandIn, github_standin

TOKEN = "ghp_StandInToken0123456789abcdefABCDEF"
REPO = "acme/gitops"
HEAD, BASE = "opsgraph/incident-42", "main"


@pytest.fixture(scope="module")
def server() -> Iterator[GitHubStandIn]:
    with github_standin() as standin:
        yield standin


@pytest.fixture
def standin(server: GitHubStandIn) -> GitHubStandIn:
    server.requests.clear()
    server.pulls.clear()
    server.comments.clear()
    server._failures.clear()
    return server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def client(standin: GitHubStandIn, sleeps: list[float]) -> AsyncIterator[GitHubClient]:
    async def sleep(seconds: float) -> None:  # virtual time: record, never wait
        sleeps.append(seconds)

    async with GitHubClient(standin.url, TOKEN, REPO, sleep=sleep) as github:
        yield github


async def test_pull_request_is_created_with_head_base_title_and_body(client: GitHubClient,
                                                                     standin: GitHubStandIn) -> None:
    pr = await client.create_pull_request(HEAD, BASE, "opsgraph: raise memory", "## Root cause\n\nOOM")
    assert (pr.number, pr.head, pr.base, pr.state) == (1, HEAD, BASE, "open")
    assert pr.url == "https://github.example/acme/gitops/pull/1"
    [request] = standin.posted_pulls()
    assert request.path == "/repos/acme/gitops/pulls"
    assert request.json == {"head": HEAD, "base": BASE, "title": "opsgraph: raise memory", "body": "## Root cause\n\nOOM"}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-github-api-version"] == "2022-11-28"


async def test_a_second_create_returns_the_existing_pull_request(client: GitHubClient, standin: GitHubStandIn) -> None:
    first = await client.create_pull_request(HEAD, BASE, "t", "b")
    again = await client.create_pull_request(HEAD, BASE, "t", "b")
    assert again == first
    assert len(standin.pulls) == 1  # no second PR
    lookup = standin.requests[-1]
    assert (lookup.method, lookup.query) == ("GET", {"head": f"acme:{HEAD}", "base": BASE, "state": "open"})


async def test_get_and_comment(client: GitHubClient, standin: GitHubStandIn) -> None:
    pr = await client.create_pull_request(HEAD, BASE, "t", "b")
    assert await client.get_pull_request(pr.number) == pr
    url = await client.comment(pr.number, "Merged? watching the rollout.")
    assert url.endswith("/pull/1#issuecomment-1")
    assert standin.comments == [{"id": 1, "body": "Merged? watching the rollout.", "issue": 1, "html_url": url}]
    assert await client.find_open_pull_request("other-branch", BASE) is None


async def test_401_is_permanent_and_says_the_token_is_bad(client: GitHubClient, standin: GitHubStandIn) -> None:
    standin.fail_next(401, message="Bad credentials")
    with pytest.raises(PermanentError) as caught:
        await client.create_pull_request(HEAD, BASE, "t", "b")
    assert str(caught.value) == ("GitHub rejected the token (401 Bad credentials); cannot open the pull request in "
                                 "acme/gitops until the token is replaced")
    assert TOKEN not in str(caught.value)
    assert len(standin.requests) == 1  # not retried


async def test_403_without_rate_limit_means_missing_scope(client: GitHubClient, standin: GitHubStandIn) -> None:
    standin.fail_next(403, message="Resource not accessible by personal access token")
    with pytest.raises(PermanentError, match=r"lacks permission to open the pull request in acme/gitops"):
        await client.create_pull_request(HEAD, BASE, "t", "b")


async def test_5xx_is_retried_then_temporary(client: GitHubClient, standin: GitHubStandIn, sleeps: list[float]) -> None:
    standin.fail_next(502, times=3)
    with pytest.raises(TemporaryError) as caught:
        await client.create_pull_request(HEAD, BASE, "t", "b")
    assert str(caught.value) == "GitHub 502 (open the pull request in acme/gitops); retrying in 30 s"
    assert caught.value.delay == 30.0
    assert len(standin.posted_pulls()) == 3 and sleeps == [1.0, 2.0]
    assert standin.pulls == {}


async def test_a_5xx_blip_is_absorbed(client: GitHubClient, standin: GitHubStandIn) -> None:
    standin.fail_next(502)
    pr = await client.create_pull_request(HEAD, BASE, "t", "b")
    assert pr.number == 1 and len(standin.posted_pulls()) == 2


async def test_rate_limit_is_temporary_with_githubs_delay(client: GitHubClient, standin: GitHubStandIn) -> None:
    standin.rate_limit_next(reset_in=120)
    with pytest.raises(TemporaryError) as caught:
        await client.create_pull_request(HEAD, BASE, "t", "b")
    assert 110 <= caught.value.delay <= 121
    assert str(caught.value).startswith("GitHub rate limit reached (open the pull request in acme/gitops); retrying in ")
    standin.fail_next(429, headers={"Retry-After": "7"})
    with pytest.raises(TemporaryError) as caught:
        await client.get_pull_request(1)
    assert caught.value.delay == 7.0


async def test_network_errors_are_temporary(sleeps: list[float]) -> None:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with GitHubClient("http://127.0.0.1:9", TOKEN, REPO, sleep=sleep, max_attempts=2) as github:
        with pytest.raises(TemporaryError, match=r"^GitHub unreachable \(read pull request #3 in acme/gitops\): "
                                                 r"ConnectError; retrying in 30 s$"):
            await github.get_pull_request(3)
    assert sleeps == [1.0]


def test_compare_url_is_what_a_human_opens_without_a_token() -> None:
    assert compare_url("https://github.com/", REPO, BASE, HEAD) == \
        "https://github.com/acme/gitops/compare/main...opsgraph%2Fincident-42?expand=1"


@pytest.mark.parametrize(("git_url", "repo"), [
    pytest.param("https://github.com/acme/gitops.git", "acme/gitops", id="https"),
    pytest.param("https://x-access-token@github.com/acme/gitops", "acme/gitops", id="https-with-user"),
    pytest.param("git@github.com:acme/gitops.git", "acme/gitops", id="scp-style"),
    pytest.param("ssh://git@github.com/acme/gitops.git", "acme/gitops", id="ssh"),
    pytest.param("https://gitlab.com/acme/gitops.git", None, id="another-host"),
    pytest.param("/srv/git/gitops.git", None, id="local-path"),
    pytest.param("https://github.com/acme/group/gitops.git", None, id="not-owner-name"),
    pytest.param(None, None, id="unset"),
])
def test_the_github_repository_is_read_from_the_gitops_remote(git_url: str | None, repo: str | None) -> None:
    assert github_repo_of(git_url, "https://github.com") == repo


async def test_a_branch_pushed_without_a_token_or_repo_setting_gets_its_compare_url(settings: Settings) -> None:
    configured = settings.model_copy(update={"gitops_repo_url": "git@github.com:acme/gitops.git",
                                             "github_repo": None, "github_token": None})
    opener = pull_request_opener(configured)
    assert isinstance(opener, CompareUrlOnly)
    diagnosis = Diagnosis(category="oom_killed", root_cause="r", confidence=0.9,
                          affected=[ResourceRef(kind="Deployment", namespace="default", name="memory-hog")])
    record = await opener.open(incident_id="42", branch=HEAD, base=BASE, commit="abc", diagnosis=diagnosis,
                               plan=Plan())
    assert record.compare_url == record.url == compare_url("https://github.com", REPO, BASE, HEAD)
    assert record.repo == REPO


def test_transport_errors_are_httpx_transport_errors() -> None:
    # The classification above relies on connection failures being TransportError subclasses.
    assert issubclass(httpx.ConnectError, httpx.TransportError)
