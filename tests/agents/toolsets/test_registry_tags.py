"""The image registry toolset: tag lists from the simulated cluster's registry and from a stand-in that asks
for an anonymous bearer token and pages its answer, as Docker Hub and GHCR do; refusals are clear errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from agents.context import ClusterRef, Context
from agents.toolsets import ToolStatus
from agents.toolsets.registry_tags import split_reference
from sim.runtime import start_sim
from tests.agents.toolsets.conftest import executor_for
from tests.support.json_standin import JsonHandler, serving

TOKEN_REQUESTS: list[dict[str, list[str]]] = []


class ChallengingRegistry(JsonHandler):
    """401 with a Bearer challenge until a token is shown; then the tags in two pages."""

    def answer(self) -> tuple[int, Any, dict[str, str]]:
        url = urlsplit(self.path)
        port = self.server.server_address[1]
        if url.path == "/token":
            TOKEN_REQUESTS.append(parse_qs(url.query))
            return 200, {"token": "anon-t0ken"}, {}
        if url.path == "/v2/acme/private/tags/list":
            return 401, {"errors": [{"code": "UNAUTHORIZED"}]}, {}
        if url.path != "/v2/library/app/tags/list":
            return 404, {"errors": [{"code": "NAME_UNKNOWN"}]}, {}
        if self.headers.get("Authorization") != "Bearer anon-t0ken":
            challenge = (f'Bearer realm="http://127.0.0.1:{port}/token",service="registry.test",'
                         'scope="repository:library/app:pull"')
            return 401, {"errors": [{"code": "UNAUTHORIZED"}]}, {"WWW-Authenticate": challenge}
        if "last=1.1" in (url.query or ""):
            return 200, {"name": "library/app", "tags": ["2.0"]}, {}
        return 200, {"name": "library/app", "tags": ["1.0", "1.1"]}, {
            "Link": '</v2/library/app/tags/list?n=2&last=1.1>; rel="next"'}


def _context(mirror: str) -> Context:
    return Context("inc", ClusterRef("sim", None, None), enabled_toolsets=frozenset({"registry"}),
                   registry_mirrors=(("*", mirror),))


@pytest.mark.parametrize(("image", "expected"), [
    ("nginx:1.27", ("docker.io", "library/nginx", "1.27")),
    ("team/app", ("docker.io", "team/app", None)),
    ("ghcr.io/org/app:v2", ("ghcr.io", "org/app", "v2")),
    ("localhost:5000/app@sha256:" + "a" * 64, ("localhost:5000", "app", None)),
    ("registry.example.com/payments/api:2.4.1", ("registry.example.com", "payments/api", "2.4.1")),
])
def test_references_split_with_docker_hubs_defaults(image: str, expected: tuple[str, str, str | None]) -> None:
    assert split_reference(image) == expected


def test_a_reference_that_is_no_image_is_refused() -> None:
    with pytest.raises(ValueError, match="is not an image reference"):
        split_reference("Nginx:1.27 ; rm -rf /")


async def test_the_simulated_registry_lists_the_worlds_tags_and_says_the_tag_is_missing() -> None:
    with start_sim("image_pull_bad_tag") as sim:
        executor, audit = executor_for(_context(sim.url))
        result = await executor.call("list_image_tags", {"image": "nginx:invalid-tag"})
    assert result.status is ToolStatus.OK, result.message
    assert result.text.startswith("docker.io/library/nginx tags: 1.25, 1.26, 1.27, 1.27.3, latest, stable")
    assert result.text.endswith("tag invalid-tag: NOT in the list")
    assert [row.status for row in audit.rows] == ["ok"]


async def test_an_anonymous_token_is_fetched_and_every_page_is_read() -> None:
    TOKEN_REQUESTS.clear()
    with serving(ChallengingRegistry) as port:
        executor, _ = executor_for(_context(f"http://127.0.0.1:{port}"))
        result = await executor.call("list_image_tags", {"image": "app:1.1"})
    assert result.status is ToolStatus.OK, result.message
    assert result.data["tags"] == ["1.0", "1.1", "2.0"]
    assert TOKEN_REQUESTS == [{"service": ["registry.test"], "scope": ["repository:library/app:pull"]}]


@pytest.mark.parametrize(("image", "message"), [
    ("acme/private:1", "the repository is private or needs credentials"),
    ("acme/unknown:1", "no such repository (404)"),
])
async def test_private_and_unknown_repositories_are_clear_errors(image: str, message: str) -> None:
    with serving(ChallengingRegistry) as port:
        executor, audit = executor_for(_context(f"http://127.0.0.1:{port}"))
        result = await executor.call("list_image_tags", {"image": image})
    assert result.status is ToolStatus.ERROR and message in result.message
    assert [row.status for row in audit.rows] == ["error"]
