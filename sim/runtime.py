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


_REPLACE_ANNOTATIONS = (
    ("argocd.argoproj.io/sync-options", lambda v: "Replace=true" in v and "Force=true" in v),
    ("kustomize.toolkit.fluxcd.io/force", lambda v: v.strip().lower() == "enabled"),
)


def _key(obj: dict[str, Any]) -> str:
    from sim.resources import by_stored_kind

    rt = by_stored_kind(obj.get("kind", ""))
    meta = obj.get("metadata") or {}
    namespace = (meta.get("namespace") or "default") if rt is not None and rt.namespaced else None
    return f"{obj.get('kind')}/{namespace or ''}/{meta.get('name')}"


def _applied_part(obj: dict[str, Any]) -> dict[str, Any]:
    """What an author's manifest sets: everything but status, and of metadata only labels and annotations."""
    part = {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
    meta = obj.get("metadata") or {}
    part["metadata"] = {k: meta[k] for k in ("labels", "annotations") if k in meta}
    return part


def _asks_to_be_replaced(obj: dict[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return any(test(str(annotations[name])) for name, test in _REPLACE_ANNOTATIONS if name in annotations)


@dataclass
class SyncResult:
    """What a sync did (`create|update|replace|prune Kind/ns/name`) or, when anything was refused, why."""

    changed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused


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

    def sync(self, objects: list[dict[str, Any]], prune: list[dict[str, Any]] | None = None) -> SyncResult:
        """What a GitOps controller (Argo CD, Flux) does after a merge: apply the rendered manifests the
        way `kubectl apply` would, delete the objects the repository no longer holds (`prune`: the
        objects of the previous render), then let the cluster react.

        The API server's update rules hold: a change to an immutable field (a Pod's spec, a Job's
        template, a selector, a PVC's spec) is refused with the server's message, unless the object
        asks to be replaced (Argo CD `argocd.argoproj.io/sync-options: Force=true,Replace=true`, Flux
        `kustomize.toolkit.fluxcd.io/force: enabled`), which deletes and recreates it. A sync with any
        refused object applies nothing, as a failed sync leaves the cluster as it was."""
        from sim.errors import ApiError
        from sim.patching import json_merge_patch, merge_patch_between
        from sim.resources import by_stored_kind
        from sim.verbs import check_immutable

        result = SyncResult()
        last_applied = {_key(obj): obj for obj in prune or [] if by_stored_kind(obj.get("kind", "")) is not None}
        planned: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        desired_keys = set()
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
                desired.pop("status", None)
                key = _key(obj)
                desired_keys.add(key)
                existing = self.store.get(obj["kind"], namespace, meta["name"])
                if existing is None:
                    planned.append(("create", desired, None))
                    continue
                # A three-way apply: what the author changed since the last sync lands on the live object,
                # and what the server or controllers added stays.
                last = last_applied.get(key)
                if last is None:
                    merged = {**existing, **{k: v for k, v in desired.items() if k not in ("metadata", "status")}}
                    merged["metadata"] = {**existing["metadata"], **{
                        k: v for k, v in desired["metadata"].items() if k in ("labels", "annotations")}}
                else:
                    change = merge_patch_between(_applied_part(last), _applied_part(desired))
                    merged = json_merge_patch(copy.deepcopy(existing), change)
                try:
                    check_immutable(rt, existing, merged)
                except ApiError as exc:
                    if not _asks_to_be_replaced(desired):
                        result.refused.append(f"{key}: {exc.message}")
                        continue
                    planned.append(("replace", desired, existing))
                    continue
                if merged != existing:
                    planned.append(("update", merged, existing))
            for obj in prune or []:
                rt = by_stored_kind(obj.get("kind", ""))
                if rt is None:
                    continue
                meta = obj.get("metadata") or {}
                namespace = (meta.get("namespace") or "default") if rt.namespaced else None
                if _key(obj) not in desired_keys and self.store.get(obj["kind"], namespace, meta["name"]) is not None:
                    planned.append(("prune", {**obj, "metadata": {**meta, "namespace": namespace}}, None))
            if result.refused:
                return result
            for action, obj, _ in planned:
                meta = obj["metadata"]
                key = _key(obj)
                if action in ("prune", "replace"):
                    self.store.delete(obj["kind"], meta.get("namespace"), meta["name"])
                if action in ("create", "replace"):
                    self.store.create(obj)
                elif action == "update":
                    self.store.put(obj)
                result.changed.append(f"{action} {key}")
            self.controller.reconcile()
        return result

    def create_job_from_cronjob(self, namespace: str, name: str) -> str | None:
        """What `kubectl create job --from=cronjob/NAME` does (how a person checks a fixed CronJob without
        waiting for its schedule): a Job from the CronJob's jobTemplate, owned by it and marked manual.
        Returns the Job's name, or None when there is no such CronJob."""
        from sim.derive.names import digest

        with self.store.lock:
            cronjob = self.store.get("CronJob", namespace, name)
            if cronjob is None:
                return None
            template = copy.deepcopy((cronjob.get("spec") or {}).get("jobTemplate") or {})
            job_name = f"{name}-manual-{digest(str(self.store.now()), 3)}"
            meta = template.get("metadata") or {}
            self.store.create({
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": job_name, "namespace": namespace, "labels": dict(meta.get("labels") or {}),
                             "annotations": {**(meta.get("annotations") or {}),
                                             "cronjob.kubernetes.io/instantiate": "manual"},
                             "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": name,
                                                  "uid": cronjob["metadata"].get("uid"), "controller": True}]},
                "spec": template.get("spec") or {}})
            self.controller.reconcile()
        return job_name

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
