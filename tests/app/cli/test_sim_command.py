"""`opsgraph sim serve` runs one scenario standalone for kubectl and other clients."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from sim.scenario import find_scenario, load_scenario, scenario_dir
from tests.support.service import service_env


def test_sim_serve_prints_a_kubeconfig_that_kubectl_uses(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "sim", "serve", "oom_memory_hog"],
        env=service_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        kubeconfig = process.stdout.readline().strip()  # blocks until the sim is serving
        assert Path(kubeconfig).is_file(), kubeconfig
        pods = subprocess.run(
            ["kubectl", "--kubeconfig", kubeconfig, "get", "pods", "-A", "-o", "json"],
            capture_output=True, text=True, timeout=30, check=True,
        )
        items = json.loads(pods.stdout)["items"]
        statuses = [cs for pod in items for cs in pod["status"].get("containerStatuses", [])]
        assert any(cs["lastState"].get("terminated", {}).get("reason") == "OOMKilled" for cs in statuses)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0


def test_sim_serve_creates_the_scenarios_gitops_repository(tmp_path: Path) -> None:
    repo = tmp_path / "gitops.git"
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "sim", "serve", "oom_memory_hog", "--gitops", str(repo)],
        env=service_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        assert Path(process.stdout.readline().strip()).is_file()  # the kubeconfig, as without --gitops
        clone = tmp_path / "clone"
        subprocess.run(["git", "clone", "--quiet", str(repo), str(clone)], check=True, timeout=30)
        files = load_scenario(find_scenario("oom_memory_hog")).gitops.files
        assert files and {p: (clone / p).read_text() for p in files} == dict(files)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    assert process.stderr is not None
    assert f"OPSGRAPH_GITOPS_REPO_URL={repo}" in process.stderr.read()


def test_sim_serve_refuses_a_gitops_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "kept.txt").write_text("mine")
    result = subprocess.run([sys.executable, "-m", "app.cli", "sim", "serve", "oom_memory_hog", "--gitops",
                             str(tmp_path)], env=service_env(), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "is not empty" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


def test_sim_list_shows_every_shipped_scenario() -> None:
    result = subprocess.run([sys.executable, "-m", "app.cli", "sim", "list"], env=service_env(),
                            capture_output=True, text=True, timeout=60, check=True)
    listed = {line.split()[0] for line in result.stdout.splitlines()}
    assert listed == {p.stem for p in scenario_dir().glob("*.yaml")}


def test_sim_serve_rejects_a_malformed_scenario_naming_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndescription: x\nexpect:\n  category: not-a-category\n")
    result = subprocess.run([sys.executable, "-m", "app.cli", "sim", "serve", str(bad)], env=service_env(),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert str(bad) in result.stderr and "expect.category" in result.stderr
    assert "Traceback" not in result.stderr
