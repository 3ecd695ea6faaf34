"""Start and stop a simulated cluster: store + controller seeded from a scenario + HTTP server."""

from __future__ import annotations

import copy
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sim.kubeconfig import write_kubeconfig
from sim.server import SimHTTPServer
from sim.store import ObjectStore

if TYPE_CHECKING:
    from sim.controller import Controller
    from sim.scenario import Scenario


@dataclass
class RunningSim:
    url: str
    kubeconfig_path: Path
    store: ObjectStore
    controller: Controller
    scenario: Scenario
    _server: SimHTTPServer = field(repr=False)
    _tmpdir: Path | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the server (ending open watches) and remove the kubeconfig if we made its folder."""
        self._server.stop()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def sync(self, objects: list[dict[str, Any]]) -> list[str]:
        """What a GitOps controller (Argo CD, Flux) does after a merge: apply the rendered manifests,
        then let the cluster react. Returns `Kind/namespace/name` of each object written."""
        from sim.resources import by_stored_kind

        written = []
        with self.store.lock:
            for obj in objects:
                rt = by_stored_kind(obj.get("kind", ""))
                if rt is None:
                    continue  # a kind this cluster does not serve (a Kustomization, say)
                meta = obj.get("metadata") or {}
                namespace = (meta.get("namespace") or "default") if rt.namespaced else None
                desired = copy.deepcopy(obj)
                desired.setdefault("metadata", {})["namespace"] = namespace
                if namespace is None:
                    desired["metadata"].pop("namespace", None)
                existing = self.store.get(obj["kind"], namespace, meta["name"])
                if existing is None:
                    self.store.create(desired)
                else:
                    merged = {**existing, **{k: v for k, v in desired.items() if k not in ("metadata", "status")}}
                    merged["metadata"] = {**existing["metadata"],
                                          **{k: v for k, v in desired["metadata"].items() if k in ("labels", "annotations")}}
                    self.store.put(merged)
                written.append(f"{obj['kind']}/{namespace or ''}/{meta['name']}")
            self.controller.reconcile()
        return written

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_sim(scenario: Scenario | str | Path, *, host: str = "127.0.0.1", port: int = 0,
              kubeconfig_dir: Path | None = None, verbose: bool = False) -> RunningSim:
    """Seed a store from the scenario and serve it on a daemon thread; port 0 picks a free port."""
    from sim.controller import Controller  # the controller half; imported here so the server stands alone
    from sim.scenario import Scenario, find_scenario, load_scenario

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(find_scenario(str(scenario)))
    store = ObjectStore()
    controller = Controller(store, scenario)
    controller.seed()
    server = SimHTTPServer((host, port), store, controller, verbose=verbose).start()
    tmpdir = None
    if kubeconfig_dir is None:
        tmpdir = kubeconfig_dir = Path(tempfile.mkdtemp(prefix="sim-kubeconfig-"))
    path = write_kubeconfig(Path(kubeconfig_dir) / f"sim-{scenario.name}.kubeconfig", server.url)
    return RunningSim(server.url, path, store, controller, scenario, server, tmpdir)
