"""Real Prometheus, promtool and Alertmanager for the monitoring tests (Debian's packages).

Installed when missing by scripts/ensure-prometheus.sh and scripts/ensure-alertmanager.sh (what `make
test` runs). When they truly cannot be installed the tests skip with a loud reason, except under
CI=true, where they fail.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from app.monitoring.pipeline import MonitoringUnavailable, alertmanager_binary, prometheus_binary, promtool_binary
from tests.support.alertmanager import ROOT


def _missing(reason: str) -> None:
    reason = f"REAL PROMETHEUS MISSING: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def require_prometheus() -> tuple[str, str]:
    """(prometheus, promtool) paths; installs them once if needed, else skips (or fails under CI)."""
    try:
        return prometheus_binary(), promtool_binary()
    except MonitoringUnavailable:
        subprocess.run([str(ROOT / "scripts" / "ensure-prometheus.sh")], check=False, timeout=300)
    try:
        return prometheus_binary(), promtool_binary()
    except MonitoringUnavailable as exc:
        _missing(f"{exc}; scripts/ensure-prometheus.sh could not install it (needs root and apt-get)")
        raise


def require_pipeline() -> None:
    """Prometheus and Alertmanager both, for the whole chain."""
    require_prometheus()
    try:
        alertmanager_binary()
    except MonitoringUnavailable:
        subprocess.run([str(ROOT / "scripts" / "ensure-alertmanager.sh")], check=False, timeout=300)
    try:
        alertmanager_binary()
    except MonitoringUnavailable as exc:
        _missing(str(exc))
