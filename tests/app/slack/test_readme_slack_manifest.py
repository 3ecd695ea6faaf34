"""The README's Slack app manifest is the app opsgraph needs: every Web API method it calls is covered by
the manifest's scopes, and its URLs and command are the ones the service serves and listens for."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from app.main import create_app
from app.slack.bolt import COMMAND
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
# The bot scope each Web API method opsgraph calls needs (api.slack.com/methods); views.open needs a trigger only.
SCOPE_OF = {"chat_postMessage": "chat:write", "chat_update": "chat:write", "chat_postEphemeral": "chat:write",
            "views_open": None, "usergroups_users_list": "usergroups:read"}


def manifest() -> dict[str, Any]:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- slack-manifest:start -->\n```yaml\n(.*?)```\n<!-- slack-manifest:end -->", text, re.S)
    assert match, "the README lost its Slack manifest"
    return dict(YAML(typ="safe").load(match.group(1)))


def web_api_methods_called() -> set[str]:
    called = set()
    for path in (ROOT / "app" / "slack").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            owner = node.value
            # `client.x(...)` and `self.client.x(...)`: the AsyncWebClient's Web API methods
            if (isinstance(owner, ast.Name) and owner.id == "client") or \
                    (isinstance(owner, ast.Attribute) and owner.attr == "client"):
                called.add(node.attr)
    return called


def test_manifest_scopes_cover_every_method_opsgraph_calls() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    called = web_api_methods_called()
    assert {"chat_postMessage", "chat_update", "views_open"} <= called
    assert called <= set(SCOPE_OF), f"a Web API method without a known scope: {called - set(SCOPE_OF)}"
    assert {SCOPE_OF[m] for m in called} - {None} <= scopes
    assert "commands" in scopes  # the slash command


def test_manifest_urls_and_command_are_served(settings: Settings) -> None:
    app_manifest = manifest()
    paths = set(create_app(settings).openapi()["paths"])
    interactivity = app_manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"].removeprefix("https://opsgraph.example.com") in paths
    [command] = app_manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND and command["url"].removeprefix("https://opsgraph.example.com") in paths
    assert app_manifest["settings"]["socket_mode_enabled"] in (True, False)
