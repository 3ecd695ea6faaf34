"""GitHub REST for the pull requests a remediation opens: create (idempotently), find, read, comment.

Failures carry what happens next (agents/errors.py): a bad or under-scoped token is permanent
(retrying will not grant scope); 5xx and network errors are retried a few times here, then
surface as TemporaryError for the intake worker's own budget; a rate limit is a TemporaryError
whose delay is what GitHub asked for. Without a token the caller records `compare_url` instead.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel

from agents.errors import PermanentError, TemporaryError

API_VERSION = "2022-11-28"
RETRY_AFTER_5XX_SECONDS = 30.0


class PullRequest(BaseModel):
    number: int
    url: str  # html_url: what a human opens
    head: str
    base: str
    title: str
    state: str
    merged: bool = False  # closed + merged; closed without it means rejected
    merge_commit_sha: str | None = None
    merged_at: str | None = None
    merged_by: str | None = None


class PullRequestExists(PermanentError):
    """422 'A pull request already exists' (handled inside create_pull_request)."""


def compare_url(web_base: str, repo: str, base: str, head: str) -> str:
    """Where a human opens the pull request by hand when no token is configured."""
    return f"{web_base.rstrip('/')}/{repo}/compare/{quote(base, safe='')}...{quote(head, safe='')}?expand=1"


def github_repo_of(git_url: str | None, web_base: str) -> str | None:
    """`owner/name` of a git remote on the GitHub at `web_base` (https, `ssh://` or scp-style `git@host:`),
    else None: a compare URL exists only where GitHub serves the repository."""
    if not git_url:
        return None
    host = urlsplit(web_base).hostname
    scp = re.fullmatch(r"[\w.-]+@([\w.-]+):(?!//)(.+)", git_url)
    remote_host, path = (scp.group(1), scp.group(2)) if scp else (urlsplit(git_url).hostname, urlsplit(git_url).path)
    if not host or remote_host != host:
        return None
    parts = path.strip("/").removesuffix(".git").split("/")
    return "/".join(parts) if len(parts) == 2 and all(re.fullmatch(r"[\w.-]+", p) for p in parts) else None


class GitHubClient:
    def __init__(self, api_url: str, token: str, repo: str, *, max_attempts: int = 3, backoff: float = 1.0,
                 timeout: float = 10.0, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        if repo.count("/") != 1:
            raise ValueError(f"repo must be 'owner/name', got {repo!r}")
        self.repo = repo
        self.max_attempts = max_attempts
        self.backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.AsyncClient(base_url=api_url.rstrip("/"), timeout=timeout, headers={
            "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION, "User-Agent": "opsgraph"})

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def find_open_pull_request(self, head: str, base: str) -> PullRequest | None:
        owner = self.repo.split("/")[0]
        found = await self._request("GET", f"/repos/{self.repo}/pulls", "find the pull request",
                                    params={"head": f"{owner}:{head}", "base": base, "state": "open"})
        return _pull_request(found[0]) if found else None

    async def create_pull_request(self, head: str, base: str, title: str, body: str) -> PullRequest:
        """Open a pull request; the open one for the same head and base if it exists already."""
        try:
            created = await self._request("POST", f"/repos/{self.repo}/pulls", "open the pull request",
                                          json={"head": head, "base": base, "title": title, "body": body})
        except PullRequestExists:
            existing = await self.find_open_pull_request(head, base)
            if existing is None:
                raise PermanentError(f"GitHub says a pull request from {head} to {base} exists in {self.repo}, "
                                     "but none is open; it needs a human") from None
            return existing
        return _pull_request(created)

    async def get_pull_request(self, number: int) -> PullRequest:
        return _pull_request(await self._request("GET", f"/repos/{self.repo}/pulls/{number}",
                                                 f"read pull request #{number}"))

    async def comment(self, pr_number: int, body: str) -> str:
        """Comment on the pull request; returns the comment's html_url."""
        made = await self._request("POST", f"/repos/{self.repo}/issues/{pr_number}/comments",
                                   f"comment on pull request #{pr_number}", json={"body": body})
        return str(made.get("html_url", ""))

    async def _request(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        error: TemporaryError | None = None
        for attempt in range(self.max_attempts):
            if attempt:
                await self._sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                error = TemporaryError(f"GitHub unreachable ({what} in {self.repo}): {type(exc).__name__}; "
                                       f"retrying in {RETRY_AFTER_5XX_SECONDS:.0f} s", delay=RETRY_AFTER_5XX_SECONDS)
                continue
            if response.status_code < 300:
                return response.json()
            if response.status_code >= 500:
                error = TemporaryError(f"GitHub {response.status_code} ({what} in {self.repo}); retrying in "
                                       f"{RETRY_AFTER_5XX_SECONDS:.0f} s", delay=RETRY_AFTER_5XX_SECONDS)
                continue
            raise self._failure(response, what)
        assert error is not None
        raise error

    def _failure(self, response: httpx.Response, what: str) -> Exception:
        status = response.status_code
        message = _message(response)
        delay = self._rate_limit_delay(response)
        if delay is not None:
            return TemporaryError(f"GitHub rate limit reached ({what} in {self.repo}); retrying in {delay:.0f} s",
                                  delay=delay)
        if status == 401:
            return PermanentError(f"GitHub rejected the token (401 {message}); cannot {what} in {self.repo} "
                                  "until the token is replaced")
        if status == 403:
            return PermanentError(f"GitHub token lacks permission to {what} in {self.repo} (403 {message}); "
                                  "it needs pull request and contents write access")
        if status == 404:
            return PermanentError(f"GitHub repo {self.repo} not found or not visible to the token ({what})")
        if status == 422 and "already exists" in message.lower():
            return PullRequestExists(message)
        return PermanentError(f"GitHub refused to {what} in {self.repo} ({status} {message})")

    def _rate_limit_delay(self, response: httpx.Response) -> float | None:
        if response.status_code not in (403, 429):
            return None
        retry_after = response.headers.get("Retry-After")
        if retry_after and retry_after.strip().isdigit():
            return max(1.0, float(retry_after))
        if response.headers.get("X-RateLimit-Remaining") == "0":
            reset = response.headers.get("X-RateLimit-Reset", "")
            return max(1.0, float(reset) - self._clock()) if reset.isdigit() else 60.0
        return 60.0 if response.status_code == 429 else None


def _message(response: httpx.Response) -> str:
    """GitHub's own wording: `message`, plus the first `errors[].message` (where 422 says what exists)."""
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase
    if not isinstance(data, dict):
        return response.reason_phrase
    text = str(data.get("message") or response.reason_phrase)
    details = [e.get("message") for e in data.get("errors") or [] if isinstance(e, dict) and e.get("message")]
    return f"{text}: {details[0]}" if details else text


def _pull_request(data: dict[str, Any]) -> PullRequest:
    return PullRequest(number=data["number"], url=data.get("html_url", ""), head=data["head"]["ref"],
                       base=data["base"]["ref"], title=data.get("title", ""), state=data.get("state", "open"),
                       merged=bool(data.get("merged") or data.get("merged_at")),
                       merge_commit_sha=data.get("merge_commit_sha") if data.get("merged_at") else None,
                       merged_at=data.get("merged_at"), merged_by=(data.get("merged_by") or {}).get("login"))
