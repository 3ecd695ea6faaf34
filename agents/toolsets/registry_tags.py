"""The image registry toolset: which tags a repository really has (the OCI distribution API's tag list).

A tag that does not exist is a common fault (a typo, a release never pushed); the registry's own list is
the evidence a fix's tag comes from. Read-only: `GET /v2/<repository>/tags/list`, following the
registry's anonymous bearer-token challenge (Docker Hub, GHCR and most registries answer public
repositories that way) and its `Link` pagination. Private repositories answer 401 and are reported as
such: opsgraph holds no registry credentials.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from pydantic import Field, field_validator

from agents.context import Context
from agents.safety.validation import ToolParams
from agents.toolsets.base import ToolEnv, ToolFailure, ToolOutput, ToolStatus
from agents.toolsets.registry import Toolset

MAX_PAGES = 10
MAX_TAGS_SHOWN = 200
DOCKER_HUB = "docker.io"
# A reference as Kubernetes accepts it: [host[:port]/]path[:tag][@digest].
_REFERENCE = re.compile(r"^(?:(?P<host>[a-z0-9.-]+(?::\d+)?|localhost(?::\d+)?)/)?(?P<path>[a-z0-9]+(?:[._/-][a-z0-9]+)*)"
                        r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[a-z0-9]+:[a-f0-9]{32,}))?$")
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


def split_reference(image: str) -> tuple[str, str, str | None]:
    """(registry host, repository, tag) of an image reference, with Docker Hub's defaults applied."""
    match = _REFERENCE.match(image)
    if match is None:
        raise ValueError(f"{image!r} is not an image reference")
    host, path = match["host"], match["path"]
    if host is None or ("." not in host and ":" not in host and host != "localhost"):
        path = f"{host}/{path}" if host else path  # `team/app` is a Docker Hub path, not a host
        host = DOCKER_HUB
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return host, path, match["tag"]


def registry_url(context: Context, host: str) -> str:
    """Where the registry `host` answers: a configured mirror (`*` matches any host), else https://host."""
    for pattern, url in context.registry_mirrors:
        if pattern in (host, "*"):
            return url.rstrip("/")
    return "https://registry-1.docker.io" if host == DOCKER_HUB else f"https://{host}"


def _explain(exc: BaseException) -> ToolFailure | None:
    if isinstance(exc, httpx.HTTPStatusError):
        code = exc.response.status_code
        if code in (401, 403):
            return ToolFailure(f"the registry refused to list tags ({code}): the repository is private or needs "
                               "credentials opsgraph does not hold")
        if code == 404:
            return ToolFailure("the registry has no such repository (404)")
        return ToolFailure(f"the registry answered {code}")
    if isinstance(exc, httpx.HTTPError):
        return ToolFailure(f"registry unreachable: {type(exc).__name__}: {exc}")
    return None


REGISTRY = Toolset(
    name="registry",
    description="Image registries (read-only): the tags a repository has, to tell a missing tag from an existing one.",
    explain=_explain,
)


class ListImageTagsParams(ToolParams):
    image: str = Field(min_length=1, max_length=300, description="An image reference as a pod names it "
                       "(`nginx:1.27`, `ghcr.io/org/app:v2`); its tag is ignored.")

    @field_validator("image")
    @classmethod
    def _reference(cls, value: str) -> str:
        split_reference(value)
        return value


def _token(client: httpx.Client, challenge: str) -> str | None:
    """An anonymous pull token for a `Bearer realm=...,service=...,scope=...` challenge."""
    if not challenge.lower().startswith("bearer "):
        return None
    fields = dict(_CHALLENGE.findall(challenge))
    if "realm" not in fields:
        return None
    answer = client.get(fields["realm"], params={k: v for k, v in fields.items() if k in ("service", "scope")})
    answer.raise_for_status()
    body = answer.json()
    return body.get("token") or body.get("access_token")


def _next_page(base: str, response: httpx.Response) -> str | None:
    link = response.headers.get("link") or ""
    match = re.search(r'<([^>]+)>;\s*rel="?next"?', link)
    if match is None:
        return None
    target = match.group(1)
    return target if target.startswith("http") else base + target


@REGISTRY.tool(params=ListImageTagsParams, timeout=15, output_cap=4000, transformers=("redact", "truncate_head"))
def list_image_tags(env: ToolEnv, p: ListImageTagsParams) -> ToolOutput:
    """List the tags the image's repository has in its registry. Use it when a pull fails with NotFound: a
    tag the list does not hold does not exist, and a fix must name one the list holds."""
    host, repository, wanted = split_reference(p.image)
    base = registry_url(env.context, host)
    url: str | None = f"{base}/v2/{repository}/tags/list"
    tags: list[str] = []
    headers: dict[str, str] = {"Accept": "application/json"}
    with httpx.Client(timeout=env.timeout_seconds, follow_redirects=True) as client:
        for _ in range(MAX_PAGES):
            if url is None:
                break
            response = client.get(url, headers=headers)
            if response.status_code == 401 and "Authorization" not in headers and (
                    token := _token(client, response.headers.get("www-authenticate", ""))):
                headers["Authorization"] = f"Bearer {token}"
                response = client.get(url, headers=headers)
            response.raise_for_status()
            tags.extend(str(t) for t in response.json().get("tags") or [])
            url = _next_page(base, response)
    data: dict[str, Any] = {"registry": host, "repository": repository, "tags": tags, "requested": wanted}
    if not tags:
        return ToolOutput("", data, ToolStatus.NO_DATA, f"{host}/{repository} lists no tags")
    shown = tags[-MAX_TAGS_SHOWN:]
    verdict = "" if wanted is None else (f"\ntag {wanted}: exists" if wanted in tags else f"\ntag {wanted}: NOT in the list")
    more = f" (the last {len(shown)} of {len(tags)})" if len(shown) < len(tags) else ""
    return ToolOutput(f"{host}/{repository} tags{more}: {', '.join(shown)}{verdict}", data)
