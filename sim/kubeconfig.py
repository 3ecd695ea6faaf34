"""A kubeconfig that points the kubernetes Python client and kubectl at a running sim."""

from __future__ import annotations

import json
from pathlib import Path

# Any token is accepted; carrying one makes both clients send an Authorization header like a real cluster.
DUMMY_TOKEN = "sim-token"


def kubeconfig_text(url: str, namespace: str = "default") -> str:
    """kubeconfig YAML (written as JSON, which YAML readers accept) with cluster, context and user "sim"."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sim", "cluster": {"server": url}}],
        "users": [{"name": "sim", "user": {"token": DUMMY_TOKEN}}],
        "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim", "namespace": namespace}}],
        "current-context": "sim",
        "preferences": {},
    }
    return json.dumps(config, indent=2) + "\n"


def write_kubeconfig(path: Path, url: str, namespace: str = "default") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(kubeconfig_text(url, namespace))
    path.chmod(0o600)  # kubectl warns about group/world-readable kubeconfigs
    return path
