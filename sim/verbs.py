"""REST semantics of the simulated API server, free of HTTP: get, list, create, update, patch, delete,
the status/scale subresources, logs and watch.

Every write runs under the store lock and is followed by `controller.reconcile()` under the same lock
(the contract), so what a client reads next already reflects the controller's reaction. Dry runs
validate and answer without touching the store.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from sim import admission, errors
from sim.defaulting import default_pod
from sim.derive import disruption
from sim.errors import ApiError
from sim.patching import PATCH_TYPES, strategic_merge_patch
from sim.resources import ResourceType, from_wire, to_wire
from sim.selectors import field_matcher, label_matcher, selector_string
from sim.store import AlreadyExists, ObjectStore, ResourceVersionTooOld, WatchEvent, format_time

Obj = dict[str, Any]


class ControllerLike(Protocol):
    """What the server needs from sim.controller.Controller (tests pass a stand-in)."""

    def reconcile(self) -> None: ...

    def read_log(self, namespace: str, pod: str, container: str | None, previous: bool) -> str: ...


_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
_POD_UPDATE_MSG = (
    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
    "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
    "negative)"
)
_SCALABLE = {"Deployment", "ReplicaSet", "StatefulSet"}


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


def validate_name(rt: ResourceType, name: str) -> None:
    if rt.group == "rbac.authorization.k8s.io":
        # RBAC names are path segments (system:controller:...), not DNS names.
        bad = not name or "/" in name or "%" in name or name in (".", "..")
        if bad:
            raise errors.invalid(rt.kind, rt.group, name, "metadata.name",
                                 f'Invalid value: "{name}": may not contain \'/\' or \'%\'', "FieldValueInvalid")
        return
    pattern, message, limit = {
        "Namespace": (_LABEL, _LABEL_MSG, 63),
        "Service": (_DNS1035, _DNS1035_MSG, 63),
    }.get(rt.kind, (_SUBDOMAIN, _SUBDOMAIN_MSG, 253))
    if len(name) > limit:
        raise errors.invalid(rt.kind, rt.group, name, "metadata.name",
                             f'Invalid value: "{name}": must be no more than {limit} characters', "FieldValueInvalid")
    if not pattern.match(name):
        raise errors.invalid(rt.kind, rt.group, name, "metadata.name", f'Invalid value: "{name}": {message}',
                             "FieldValueInvalid")


def check_immutable(rt: ResourceType, old: Obj, new: Obj) -> None:
    """The update rules agents most often run into: pod spec, job template, workload selectors, PVC spec."""
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    name = old["metadata"]["name"]
    if rt.kind == "Pod":
        def strip(spec: Obj) -> Obj:
            spec = copy.deepcopy(spec)
            for group in ("containers", "initContainers"):
                for c in spec.get(group) or []:
                    c.pop("image", None)
            for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
                spec.pop(key, None)
            return spec
        if strip(old_spec) != strip(new_spec):
            raise errors.invalid("Pod", "", name, "spec", _POD_UPDATE_MSG, "FieldValueForbidden")
    if rt.kind == "Job" and old_spec.get("template") != new_spec.get("template"):
        raise errors.invalid("Job", "batch", name, "spec.template",
                             "Invalid value: core.PodTemplateSpec{...}: field is immutable", "FieldValueInvalid")
    if rt.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job") and \
            old_spec.get("selector") != new_spec.get("selector") and old_spec.get("selector") is not None:
        raise errors.invalid(rt.kind, rt.group, name, "spec.selector",
                             "Invalid value: v1.LabelSelector{...}: field is immutable", "FieldValueInvalid")
    if rt.kind == "PersistentVolumeClaim":
        def without_resources(spec: Obj) -> Obj:
            return {k: v for k, v in spec.items() if k not in ("resources", "volumeAttributesClassName")}
        if without_resources(old_spec) != without_resources(new_spec):
            raise errors.invalid("PersistentVolumeClaim", "", name, "spec",
                                 "Forbidden: spec is immutable after creation except resources.requests and "
                                 "volumeAttributesClassName for bound claims", "FieldValueForbidden")


class Api:
    """The verbs over one store and controller. Methods take and return objects in wire shape."""

    def __init__(self, store: ObjectStore, controller: ControllerLike) -> None:
        self.store = store
        self.controller = controller

    # -- reads -------------------------------------------------------------------------------------
    def _stored(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        found = self.store.get(rt.stored_kind, namespace if rt.namespaced else None, name)
        if found is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return found

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        return to_wire(rt, self._stored(rt, namespace, name))

    def list(self, rt: ResourceType, namespace: str | None, query: dict[str, str]) -> tuple[list[Obj], str]:
        """Matching stored objects and the list's resourceVersion."""
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), rt.stored_kind)
        with self.store.lock:
            items = self.store.list(rt.stored_kind, namespace if rt.namespaced else None)
            revision = str(self.store.resource_version)
        return [o for o in items if labels(o) and fields(o)], revision

    # -- writes ------------------------------------------------------------------------------------
    def _commit(self, write: Callable[[], Obj]) -> Obj:
        with self.store.lock:
            result = write()
            try:
                self.controller.reconcile()
            except Exception as exc:  # the write stands; say what failed without leaking a traceback
                print(f"sim: reconcile failed after a write: {exc!r}", file=sys.stderr)
                raise ApiError(500, f"Internal error occurred: the simulated controller failed: {exc}") from exc
            return result

    def _prepare(self, rt: ResourceType, namespace: str | None, body: Obj) -> Obj:
        """Check a body against the URL (kind, apiVersion, namespace) and convert it to the stored shape."""
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        if body.get("kind") not in (None, "", rt.kind):
            raise errors.bad_request(f'{body["kind"]} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                                     f"the kind in the body does not match the URL")
        if body.get("apiVersion") not in (None, "", rt.api_version):
            raise errors.bad_request(f"the API version in the data ({body['apiVersion']}) does not match the "
                                     f"expected API version ({rt.api_version})")
        obj = from_wire(rt, {**copy.deepcopy(body), "apiVersion": rt.api_version, "kind": rt.kind})
        obj["kind"] = rt.stored_kind
        meta = _meta(obj)
        if rt.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                         "sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        return obj

    def create(self, rt: ResourceType, namespace: str | None, body: Obj, dry_run: bool) -> Obj:
        obj = self._prepare(rt, namespace, body)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789")
                                                          for _ in range(5))
        name = str(meta.get("name") or "")
        if not name:
            raise errors.invalid(rt.kind, rt.group, "", "metadata.name",
                                 "Required value: name or generateName is required", "FieldValueRequired")
        validate_name(rt, name)
        for key in ("uid", "resourceVersion", "deletionTimestamp"):
            meta.pop(key, None)  # the server assigns these, whatever the client sent
        if rt.stored_kind == "Pod":
            default_pod(obj)

        def write() -> Obj:
            if rt.namespaced and self.store.get("Namespace", None, namespace or "") is None:
                raise errors.not_found("namespaces", "", namespace or "")
            if self.store.get(rt.stored_kind, namespace if rt.namespaced else None, name) is not None:
                raise errors.already_exists(rt.plural, rt.group, name)
            self._admit("CREATE", rt, namespace, obj)
            if dry_run:
                meta.setdefault("uid", "00000000-0000-0000-0000-000000000000")
                meta.setdefault("creationTimestamp", format_time(self.store.now()))
                meta.setdefault("generation", 1)
                return obj
            try:
                return self.store.create(obj)
            except AlreadyExists:
                raise errors.already_exists(rt.plural, rt.group, name) from None

        return to_wire(rt, self._write(write, dry_run))

    def _write(self, write: Callable[[], Obj], dry_run: bool) -> Obj:
        if dry_run:
            with self.store.lock:
                return write()
        return self._commit(write)

    def _replace(self, rt: ResourceType, old: Obj, new: Obj, sub: str | None, dry_run: bool) -> Obj:
        """Store `new` (stored shape) over `old`, applying the update rules of the main resource or /status."""
        name = old["metadata"]["name"]
        wanted_rv = new["metadata"].get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"].get("resourceVersion"):
            raise errors.conflict(rt.plural, rt.group, name)
        if new["metadata"].get("name") != name:
            raise errors.bad_request(f"the name of the object ({new['metadata'].get('name')}) does not match the "
                                     f"name on the URL ({name})")
        if sub == "status":
            new = {**old, "status": new.get("status", old.get("status"))}
        else:
            if "status" in old and rt.subresource("status") is not None:
                new["status"] = old["status"]  # a main-resource update never changes status
            check_immutable(rt, old, new)
        new["metadata"]["uid"] = old["metadata"].get("uid")
        if rt.stored_kind == "Secret" and isinstance(new.get("data"), dict):
            # Clients only ever read blanked values; a blank written back means "unchanged", not "erase".
            kept = old.get("data") or {}
            new["data"] = {k: (kept.get(k, v) if v == "" else v) for k, v in new["data"].items()}
        if sub is None:
            self._admit("UPDATE", rt, new["metadata"].get("namespace"), new)
        if dry_run:
            return new
        return self.store.put(new)

    def _admit(self, operation: str, rt: ResourceType, namespace: str | None, obj: Obj) -> None:
        """Fail-closed admission webhooks that cannot be called refuse the write (500, as the apiserver)."""
        refused = admission.rejection(self.store, operation, rt.group, rt.version, rt.plural,
                                      namespace if rt.namespaced else None, obj)
        if refused is not None:
            raise ApiError(500, refused)

    def update(self, rt: ResourceType, namespace: str | None, name: str, sub: str | None, body: Obj,
               dry_run: bool) -> Obj:
        if sub == "scale":
            return self._update_scale(rt, namespace, name, lambda scale: body, dry_run)
        new = self._prepare(rt, namespace, body)

        def write() -> Obj:
            return self._replace(rt, self._stored(rt, namespace, name), new, sub, dry_run)

        return to_wire(rt, self._write(write, dry_run))

    def patch(self, rt: ResourceType, namespace: str | None, name: str, sub: str | None, patch: Any,
              content_type: str, dry_run: bool) -> Obj:
        if content_type == "application/apply-patch+yaml":
            apply: Callable[[Any, Any], Any] = strategic_merge_patch  # server-side apply, approximated
        elif content_type in PATCH_TYPES:
            apply = PATCH_TYPES[content_type]
        else:
            raise ApiError(415, f"the body of the request was in an unknown format - accepted media types "
                                f"include: {', '.join(PATCH_TYPES)}, application/apply-patch+yaml")
        if sub == "scale":
            return self._update_scale(rt, namespace, name, lambda scale: apply(scale, patch), dry_run)

        def write() -> Obj:
            stored = self.store.get(rt.stored_kind, namespace if rt.namespaced else None, name)
            if stored is None:
                if content_type == "application/apply-patch+yaml" and isinstance(patch, dict):
                    return self._unwired(rt, self.create(rt, namespace, {**patch, "metadata": {
                        **(patch.get("metadata") or {}), "name": name}}, dry_run))
                raise errors.not_found(rt.plural, rt.group, name)
            patched = apply(to_wire(rt, copy.deepcopy(stored), redact=False), patch)
            if not isinstance(patched, dict):
                raise errors.bad_request("the patch did not produce an object")
            return self._replace(rt, stored, self._prepare(rt, namespace, patched), sub, dry_run)

        return to_wire(rt, self._write(write, dry_run))

    def _unwired(self, rt: ResourceType, obj: Obj) -> Obj:
        return from_wire(rt, {**obj, "kind": rt.kind}) | {"kind": rt.stored_kind}

    # -- scale ---------------------------------------------------------------------------------------
    def scale(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        return self._scale_of(self._stored(rt, namespace, name))

    @staticmethod
    def _scale_of(obj: Obj) -> Obj:
        meta = obj["metadata"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
            "status": {
                "replicas": (obj.get("status") or {}).get("replicas", 0),
                "selector": selector_string(((obj.get("spec") or {}).get("selector") or {}).get("matchLabels")),
            },
        }

    def _update_scale(self, rt: ResourceType, namespace: str | None, name: str,
                      change: Callable[[Obj], Any], dry_run: bool) -> Obj:
        if rt.stored_kind not in _SCALABLE:
            raise errors.no_route()

        def write() -> Obj:
            stored = self._stored(rt, namespace, name)
            scale = change(self._scale_of(stored))
            replicas = (scale.get("spec") or {}).get("replicas") if isinstance(scale, dict) else None
            if not isinstance(replicas, int) or replicas < 0:
                raise errors.invalid("Scale", "autoscaling", name, "spec.replicas",
                                     f"Invalid value: {replicas!r}: must be greater than or equal to 0",
                                     "FieldValueInvalid")
            wanted_rv = (scale.get("metadata") or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != stored["metadata"].get("resourceVersion"):
                raise errors.conflict(rt.plural, rt.group, name)
            updated = copy.deepcopy(stored)
            updated.setdefault("spec", {})["replicas"] = replicas
            return self._scale_of(updated if dry_run else self.store.put(updated))

        return self._write(write, dry_run)

    # -- eviction ------------------------------------------------------------------------------------
    def evict(self, namespace: str, name: str, body: Any, dry_run: bool) -> Obj:
        """POST pods/{name}/eviction: delete the pod unless its PodDisruptionBudget allows no disruption."""
        if not isinstance(body, dict) or body.get("kind") not in (None, "", "Eviction"):
            raise errors.bad_request("the body of the request was in an unknown format: expected an Eviction")
        if (body.get("metadata") or {}).get("name") not in (None, "", name):
            raise errors.bad_request(f"name in URL does not match name in Eviction object: {name}")

        def write() -> Obj:
            pod = self.store.get("Pod", namespace, name)
            if pod is None:
                raise errors.not_found("pods", "", name)
            refused = disruption.eviction_refusal(self.store, pod)
            if refused is not None:
                code, message, cause = refused
                raise ApiError(code, message, "TooManyRequests" if code == 429 else None,
                               {"causes": [cause]} if cause else None)
            if not dry_run:
                gone = self.store.delete("Pod", namespace, name)
                self._collect((gone or pod)["metadata"].get("uid"), "Background")
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

        return self._write(write, dry_run)

    # -- delete --------------------------------------------------------------------------------------
    def delete(self, rt: ResourceType, namespace: str | None, name: str, options: Obj, dry_run: bool) -> Obj:
        policy = options.get("propagationPolicy") or ("Orphan" if options.get("orphanDependents") else "Background")

        def write() -> Obj:
            stored = self._stored(rt, namespace, name)
            if dry_run:
                return stored
            gone = self.store.delete(rt.stored_kind, namespace if rt.namespaced else None, name) or stored
            if rt.stored_kind == "Namespace":
                for kind in self.store.kinds():
                    for obj in self.store.list(kind, name):
                        self.store.delete(kind, name, obj["metadata"]["name"])
            self._collect(gone["metadata"].get("uid"), policy)
            return gone

        return to_wire(rt, self._write(write, dry_run))

    def _collect(self, owner_uid: str | None, policy: str) -> None:
        """Garbage-collect dependents by ownerReferences (Background/Foreground) or orphan them."""
        if not owner_uid:
            return
        for kind in self.store.kinds():
            for obj in self.store.list(kind):
                refs = obj["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == owner_uid for r in refs):
                    continue
                if policy == "Orphan":
                    obj["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != owner_uid]
                    self.store.put(obj)
                else:
                    gone = self.store.delete(kind, obj["metadata"].get("namespace"), obj["metadata"]["name"])
                    if gone is not None:
                        self._collect(gone["metadata"].get("uid"), policy)

    # -- watch ---------------------------------------------------------------------------------------
    def watch(self, rt: ResourceType, namespace: str | None, query: dict[str, str], timeout: float,
              render: Callable[[Obj], Obj], stopped: Callable[[], bool]) -> Iterator[Obj]:
        """Yield watch events ({"type", "object"}) until the timeout, a stop, or a 410 for an old version.

        `render` turns a stored object into what the event carries (wire object or a one-row Table)."""
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), rt.stored_kind)
        scope = namespace if rt.namespaced else None

        def visible(obj: Obj | None) -> bool:
            if obj is None or (scope is not None and obj["metadata"].get("namespace") != scope):
                return False
            return labels(obj) and fields(obj)

        requested = query.get("resourceVersion", "")
        if requested not in ("", "0") and not requested.isdigit():
            raise errors.bad_request(f'invalid resource version: "{requested}"')
        with self.store.lock:
            cursor = self.store.resource_version
            initial = self.store.list(rt.stored_kind, scope) if requested in ("", "0") else []
        if requested not in ("", "0"):
            cursor = int(requested)
        for obj in initial:
            if visible(obj):
                yield {"type": "ADDED", "object": render(obj)}
        deadline = time.monotonic() + timeout
        while True:
            try:
                batch = self.store.events_after(cursor)
            except ResourceVersionTooOld as exc:
                yield {"type": "ERROR", "object": ApiError(410, str(exc), "Expired").status()}
                return
            for event in batch:
                cursor = event.resource_version
                if event.kind == rt.stored_kind:
                    typed = self._as_seen(event, visible)
                    if typed is not None:
                        yield {"type": typed, "object": render(copy.deepcopy(event.object))}
            remaining = deadline - time.monotonic()
            if remaining <= 0 or stopped() or self.store.closed:
                return
            # Wake at least once a second so a stopped server or a gone client ends the stream.
            self.store.wait_for_change(cursor, min(remaining, 1.0))

    @staticmethod
    def _as_seen(event: WatchEvent, visible: Callable[[Obj | None], bool]) -> str | None:
        """The event type a filtered watcher sees: entering the selection is ADDED, leaving it DELETED."""
        now_in, was_in = visible(event.object), visible(event.old)
        if event.type == "DELETED":
            return "DELETED" if now_in else None
        if now_in:
            return "MODIFIED" if was_in else "ADDED"
        return "DELETED" if was_in else None


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"the body of the request was in an unknown format: {exc}") from None
