"""Admission webhooks as the apiserver calls them: which webhooks a write matches, and why a call fails.

A webhook matches by its `rules` (operations, apiGroups, apiVersions, resources, scope),
`namespaceSelector` and `objectSelector`. The apiserver calls it at
`https://<service>.<namespace>.svc:<port><path>?timeout=<n>s`; the call fails when the Service has no
ready endpoint (`no endpoints available for service "x"`) or when the serving certificate does not
verify against the webhook's `caBundle` (`tls: failed to verify certificate: x509: certificate signed
by unknown authority`). The serving certificate's CA is read from the `ca.crt` of the TLS Secret the
webhook's pods mount. A failing call with `failurePolicy: Fail` (the default) rejects the write;
`Ignore` admits it. Both the API server (a write over HTTP) and the controllers (pods they create)
ask here, so one wording serves both.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from sim.selectors import selector_matches

Obj = dict[str, Any]


def _rule_matches(rule: Obj, operation: str, group: str, version: str, resource: str, namespaced: bool) -> bool:
    def has(values: list[str] | None, wanted: str) -> bool:
        return any(v in ("*", wanted) for v in values or [])

    scope = rule.get("scope", "*")
    return (has(rule.get("operations"), operation) and has(rule.get("apiGroups"), group)
            and has(rule.get("apiVersions"), version) and has(rule.get("resources"), resource)
            and (scope == "*" or (scope == "Namespaced") == namespaced))


def _ready_pods(store: Any, service: Obj) -> list[Obj]:
    namespace = service["metadata"].get("namespace")
    endpoints = store.get("Endpoints", namespace, service["metadata"]["name"])
    if endpoints is None:
        # The endpoints controller has not seen this Service yet (a cluster seeded at once): its pods stand in,
        # as the webhook ran long before the workloads it admits.
        selector = (service.get("spec") or {}).get("selector") or {}
        return [p for p in store.list("Pod", namespace) if selector and not p["metadata"].get("deletionTimestamp")
                and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())]
    names = {(a.get("targetRef") or {}).get("name") for s in endpoints.get("subsets") or []
             for a in s.get("addresses") or []}
    return [p for n in names if n and (p := store.get("Pod", namespace, n)) is not None]


def _serving_ca(store: Any, pod: Obj) -> bytes | None:
    """The CA of the TLS certificate a webhook pod serves: `ca.crt` of the TLS Secret it mounts."""
    namespace = pod["metadata"].get("namespace")
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = (volume.get("secret") or {}).get("secretName")
        secret = store.get("Secret", namespace, name) if name else None
        data = (secret or {}).get("data") or {}
        if secret is not None and "tls.crt" in data and data.get("ca.crt"):
            try:
                return base64.b64decode(data["ca.crt"])
            except (binascii.Error, ValueError):
                return b""
    return None


def call_failure(store: Any, hook: Obj) -> str | None:
    """Why calling `hook` fails (the text after `failed to call webhook: `), or None when it answers."""
    svc_ref = (hook.get("clientConfig") or {}).get("service")
    if not svc_ref:
        return None  # a URL webhook outside the cluster: assumed to answer
    name, namespace = svc_ref.get("name", ""), svc_ref.get("namespace", "")
    url = (f'Post "https://{name}.{namespace}.svc:{svc_ref.get("port", 443)}{svc_ref.get("path") or "/"}'
           f'?timeout={hook.get("timeoutSeconds", 10)}s"')
    service = store.get("Service", namespace, name)
    if service is None:
        return f'{url}: service "{name}" not found'
    pods = _ready_pods(store, service)
    if not pods:
        return f'{url}: no endpoints available for service "{name}"'
    served = _serving_ca(store, pods[0])
    if served is None:
        return None  # no serving certificate in the cluster's objects to check against: assumed to verify
    try:
        bundle = base64.b64decode(str(hook.get("clientConfig", {}).get("caBundle") or ""))
    except (binascii.Error, ValueError):
        bundle = b""
    if served.strip() not in bundle or not served.strip():
        return f"{url}: tls: failed to verify certificate: x509: certificate signed by unknown authority"
    return None


def rejection(store: Any, operation: str, group: str, version: str, resource: str, namespace: str | None,
              obj: Obj) -> str | None:
    """`Internal error occurred: failed calling webhook "x": ...` when a fail-closed webhook cannot be called."""
    ns_labels: dict[str, str] = {}
    if namespace:
        ns_obj = store.get("Namespace", None, namespace) or {}
        ns_labels = {**((ns_obj.get("metadata") or {}).get("labels") or {}),
                     "kubernetes.io/metadata.name": namespace}
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):  # mutating run first
        for config in store.list(kind):
            for hook in config.get("webhooks") or []:
                if not any(_rule_matches(r, operation, group, version, resource, namespace is not None)
                           for r in hook.get("rules") or []):
                    continue
                if namespace and not selector_matches(hook.get("namespaceSelector"), ns_labels):
                    continue
                if not selector_matches(hook.get("objectSelector"), labels):
                    continue
                failure = call_failure(store, hook)
                if failure is None or hook.get("failurePolicy", "Fail") != "Fail":
                    continue
                return (f'Internal error occurred: failed calling webhook "{hook.get("name")}": '
                        f"failed to call webhook: {failure}")
    return None
