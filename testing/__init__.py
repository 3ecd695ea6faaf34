"""Test doubles that ship with opsgraph because its benchmarks use them too.

Nothing in `app` (outside `app.bench`), `graphs` or `agents` may import from here: an import contract
in pyproject.toml says so. The scripted chat model stands in for a real model where a run must be
deterministic and offline (tests, `opsgraph bench diagnose`, `opsgraph bench chat`).
"""
