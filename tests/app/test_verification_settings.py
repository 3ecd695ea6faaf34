"""The verification window must end before its work item's deadline, or the item is given up mid-watch."""

from __future__ import annotations

import pytest

from app.settings import ConfigurationError, load_settings


def test_window_longer_than_the_work_deadline_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigurationError, match="OPSGRAPH_VERIFY_WINDOW_SECONDS must be shorter than "
                                                 "OPSGRAPH_WORK_DEADLINE_SECONDS"):
        load_settings(verify_window_seconds=3600, work_deadline_seconds=3600)


def test_defaults() -> None:
    settings = load_settings()
    assert (settings.verify_window_seconds, settings.verify_poll_seconds, settings.pr_poll_seconds) == (600, 30, 60)
    assert settings.github_webhook_secret is None and settings.verify_healthy_checks == 2
