"""What the API server adds to a pod before it is stored: field defaults and admission's additions.

Field defaults follow pkg/apis/core/v1/defaults.go (SetDefaults_PodSpec, _Container, _Probe,
_HTTPGetAction, _ContainerPort); the rest is what the admission plugins add to every pod:
ServiceAccount (`serviceAccountName: default`, the `kube-api-access-xxxxx` projected token volume
and its mounts) and DefaultTolerationSeconds (not-ready/unreachable NoExecute for 300 s). Pod
*templates* in workloads are left as applied, so a template's hash (and the pod names derived from
it) does not depend on defaulting.
"""

from __future__ import annotations

import copy
from typing import Any

from sim.derive.names import suffix

Obj = dict[str, Any]

DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]
# SetDefaults_Probe: a probe's omitted timing fields.
PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
TOKEN_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def image_pull_policy(image: str) -> str:
    """SetDefaults_Container: Always for `:latest` or an untagged image, else IfNotPresent."""
    last = str(image).rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    return "Always" if ":" not in last or last.endswith(":latest") else "IfNotPresent"


def default_probe(probe: Obj | None) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in PROBE_DEFAULTS.items():
        probe.setdefault(key, value)
    http = probe.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")


def default_container(c: Obj) -> None:
    c.setdefault("imagePullPolicy", image_pull_policy(c.get("image", "")))
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    res = c["resources"]
    if res.get("limits") and not res.get("requests"):
        res["requests"] = dict(res["limits"])
    elif res.get("limits"):
        res["requests"] = {**res["limits"], **res["requests"]}
    for port in c.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        default_probe(c.get(kind))


def default_pod_spec(spec: Obj, namespace: str, pod_name: str) -> Obj:
    """A copy of `spec` as the API server stores it for pod `namespace/pod_name`."""
    spec = copy.deepcopy(spec)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("securityContext", {})
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tolerations = spec.setdefault("tolerations", [])
    for tol in DEFAULT_TOLERATIONS:
        if not any(t.get("key") == tol["key"] and t.get("effect") == "NoExecute" for t in tolerations):
            tolerations.append(dict(tol))
    access = f"kube-api-access-{suffix(namespace + '/' + pod_name + '/sa')}"
    mount_token = spec.get("automountServiceAccountToken", True) and not any(
        m.get("mountPath") == TOKEN_MOUNT for c in spec.get("containers") or [] for m in c.get("volumeMounts") or [])
    if mount_token:
        spec.setdefault("volumes", []).append({
            "name": access,
            "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                               "fieldPath": "metadata.namespace"}}]}},
            ]},
        })
    for group in ("initContainers", "containers"):
        for c in spec.get(group) or []:
            default_container(c)
            if mount_token:
                c.setdefault("volumeMounts", []).append({"name": access, "readOnly": True, "mountPath": TOKEN_MOUNT})
    return spec


def default_pod(pod: Obj) -> Obj:
    """`pod` with its spec defaulted (a pod created through the API or seeded from a scenario)."""
    meta = pod.get("metadata") or {}
    if isinstance(pod.get("spec"), dict):
        pod["spec"] = default_pod_spec(pod["spec"], meta.get("namespace") or "default", str(meta.get("name") or ""))
    return pod
