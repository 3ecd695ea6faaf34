"""docker-compose.yml and the Dockerfile say what the deploy promises, checked without Docker."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_app_waits_for_a_healthy_database_it_points_at() -> None:
    services = compose()["services"]
    app = services["app"]
    assert app["build"] == "."
    assert app["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert urlsplit(app["environment"]["DATABASE_URL"]).hostname == "db"
    db = services["db"]
    assert db["image"].startswith("pgvector/pgvector:pg17")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])


def test_local_llm_is_optional() -> None:
    services = compose()["services"]
    assert services["llm"]["profiles"] == ["local-llm"]
    assert not services["llm"]["image"].endswith(":latest")
    assert "profiles" not in services["app"] and "profiles" not in services["db"]
    assert "OPENAI_BASE_URL=http://llm:11434/v1" in (ROOT / "docker-compose.yml").read_text()


def test_compose_sets_only_opsgraph_settings_and_no_secrets() -> None:
    environment = compose()["services"]["app"]["environment"]
    assert all(k.startswith("OPSGRAPH_") or k == "DATABASE_URL" for k in environment)
    assert not {"OPENAI_API_KEY", "GITHUB_TOKEN", "SLACK_BOT_TOKEN"} & set(environment)


@pytest.mark.parametrize(
    ("what", "pattern"),
    [
        pytest.param("slim python 3.11 base", r"^ARG PYTHON_IMAGE=python:3\.11-slim$", id="base"),
        pytest.param(
            "two stages",
            r"^FROM \$\{PYTHON_IMAGE\} AS build$[\s\S]*^FROM \$\{PYTHON_IMAGE\} AS runtime$",
            id="multi-stage",
        ),
        pytest.param("project installed", r"^RUN pip install \.", id="pip-install"),
        pytest.param("numeric non-root user", r"^USER 10001:10001$", id="non-root"),
        pytest.param("port", r"^EXPOSE 8080$", id="expose"),
        pytest.param("health check", r"^HEALTHCHECK [\s\S]*127\.0\.0\.1:8080/healthz", id="healthcheck"),
        pytest.param(
            "entrypoint", r'^ENTRYPOINT \["opsgraph", "serve", "--host", "0\.0\.0\.0"\]$', id="entrypoint"
        ),
    ],
)
def test_dockerfile(what: str, pattern: str) -> None:
    assert re.search(pattern, dockerfile(), re.MULTILINE), what


def test_dockerfile_copies_every_package_the_project_ships() -> None:
    # A package added to pyproject but not copied would build an image that fails at import.
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = {p.rstrip("*") for p in include["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile(), re.MULTILINE))
    assert packages == copied
    assert "USER root" not in dockerfile()


def test_dockerignore_keeps_secrets_and_the_venv_out_of_the_build_context() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", ".env", "tests"} <= ignored
    assert "README.md" not in ignored and "pyproject.toml" not in ignored
