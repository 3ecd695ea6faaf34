"""Configuration: one clear line per bad value, secrets never printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pydantic import SecretStr

from app.settings import ConfigurationError, Settings, load_settings, settings_table_markdown


def _run_config(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPSGRAPH_")}
    for name in ("DATABASE_URL", "OPENAI_API_KEY", "GITHUB_TOKEN", "SLACK_BOT_TOKEN", "KUBECONFIG"):
        clean.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "config", *args],
        env={**clean, **env}, capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        pytest.param({"OPSGRAPH_PORT": "eighty"}, "OPSGRAPH_PORT", id="port-not-a-number"),
        pytest.param({"OPSGRAPH_PORT": "70000"}, "OPSGRAPH_PORT", id="port-out-of-range"),
        pytest.param({"DATABASE_URL": "mysql://root:hunter2@db/x"}, "DATABASE_URL", id="database-url-scheme"),
        pytest.param({"OPSGRAPH_LOG_LEVEL": "LOUD"}, "OPSGRAPH_LOG_LEVEL", id="log-level"),
        pytest.param({"OPENAI_BASE_URL": "localhost:11434"}, "OPENAI_BASE_URL", id="base-url-scheme"),
        pytest.param({"OPSGRAPH_DB_POOL_MIN_SIZE": "20"}, "OPSGRAPH_DB_POOL_MIN_SIZE", id="pool-bounds"),
    ],
)
def test_bad_value_fails_with_one_line_naming_the_variable(env: dict[str, str], variable: str) -> None:
    result = _run_config(env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr  # a bad secret is not echoed back either


def test_config_masks_every_secret() -> None:
    secrets = {
        "DATABASE_URL": "postgresql://ops:s3cr3t-pw@db.internal:5432/opsgraph",
        "OPENAI_API_KEY": "sk-live-abcdef123456",
        "GITHUB_TOKEN": "ghp_abcdefghijklmnop",
        "SLACK_BOT_TOKEN": "xoxb-1234-5678",
        "OPSGRAPH_WEBHOOK_TOKEN": "webhook-token-value",
    }
    for args in ((), ("--json",)):
        result = _run_config(secrets, *args)
        assert result.returncode == 0, result.stderr
        for value in ("s3cr3t-pw", "sk-live-abcdef123456", "ghp_abcdefghijklmnop", "xoxb-1234-5678",
                      "webhook-token-value"):
            assert value not in result.stdout
    shown = json.loads(result.stdout)
    # Where the database is stays visible; only the password is masked.
    assert shown["database_url"] == "postgresql://ops:********@db.internal:5432/opsgraph"
    assert shown["openai_api_key"] == "********"
    assert shown["slack_signing_secret"] is None


def test_conventional_and_prefixed_names_are_both_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", "/tmp/kc")
    monkeypatch.setenv("OPSGRAPH_MODEL", "qwen2.5:7b")
    settings = load_settings()
    assert str(settings.kubeconfig) == "/tmp/kc"
    assert settings.model == "qwen2.5:7b"


def test_load_settings_error_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="OPSGRAPH_PORT"):
        load_settings(port=0)


def test_readme_table_lists_every_field_with_its_description() -> None:
    table = settings_table_markdown()
    for name, info in Settings.model_fields.items():
        assert info.description, f"{name} has no description"
        assert info.description in table
    assert "`DATABASE_URL`" in table and "`OPSGRAPH_DATA_DIR`" in table


async def test_half_a_slack_configuration_stops_the_start_with_what_is_missing(settings: Settings) -> None:
    from app.errors import StartupFailed
    from app.main import create_app

    token, secret = SecretStr("xoxb-1"), SecretStr("s")
    for update, missing in (({"slack_channel": "C0OPS"}, "SLACK_BOT_TOKEN and SLACK_CHANNEL"),
                            ({"slack_channel": "C0OPS", "slack_bot_token": token}, "SLACK_SIGNING_SECRET"),
                            ({"slack_channel": "C0OPS", "slack_bot_token": token, "slack_mode": "socket"},
                             "SLACK_APP_TOKEN"),
                            ({"slack_channel": "C0OPS", "slack_bot_token": token, "slack_signing_secret": secret,
                              "slack_routes": "team=payments>C0PAY"}, "bad Slack route")):
        app = create_app(settings.model_copy(update={**update, "workers": 0}))
        with pytest.raises(StartupFailed, match=missing):
            async with app.router.lifespan_context(app):
                pass
