"""Generate the common kinds from a structured request, with the defaults a reviewer asks for:
requests and limits, readiness and liveness probes, a non-root read-only container, a pinned image
and the standard labels. A request without an image tag is refused: guessing a version is worse."""

from __future__ import annotations

import io
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from ruamel.yaml import YAML

from agents.safety.validation import check_label
from agents.toolsets.gitops.tree import split_image

Kind = Literal["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service"]
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


class ManifestRequest(BaseModel):
    kind: Kind = "Deployment"
    image: str = Field(min_length=1, max_length=300)
    name: str | None = Field(default=None, description="defaults to the image's last path segment")
    namespace: str | None = None
    replicas: int = Field(default=2, ge=0, le=1000)
    port: int | None = Field(default=None, ge=1, le=65535)
    schedule: str = "0 * * * *"  # CronJob only
    with_service: bool = False

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str) -> str:
        _, tag, digest = split_image(image)
        if not digest and (tag is None or tag == "latest"):
            raise ValueError(f"image {image!r} is not pinned: give a version tag or digest (e.g. {image.split(':')[0]}:1.2.3)")
        return image

    def workload_name(self) -> str:
        if self.name:
            return self.name
        base = split_image(self.image)[0].rsplit("/", 1)[-1]
        return "".join(c if c.isalnum() or c == "-" else "-" for c in base.lower()).strip("-") or "app"


def generate_manifests(request: ManifestRequest) -> list[dict[str, Any]]:
    name = request.workload_name()
    check_label(name)  # raises ValueError with the naming rule; a Service name must be a label
    if request.namespace:
        check_label(request.namespace)
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "opsgraph"}
    metadata: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if request.namespace:
        metadata["namespace"] = request.namespace
    objects: list[dict[str, Any]] = []
    if request.kind != "Service":
        objects.append(_workload(request, metadata, labels))
    if request.kind == "Service" or (request.with_service and request.port):
        objects.append(_service(request, metadata, labels))
    return objects


def to_yaml(objects: list[dict[str, Any]]) -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump_all(objects, out)
    return out.getvalue()


def _container(request: ManifestRequest, name: str) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name, "image": request.image,
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
    }
    if request.kind in ("Deployment", "StatefulSet", "DaemonSet"):
        # Without a port to probe, the probes check the process is alive enough to run a command.
        probe: dict[str, Any] = ({"tcpSocket": {"port": request.port}} if request.port
                                 else {"exec": {"command": ["true"]}})
        container["readinessProbe"] = {**probe, "periodSeconds": 10}
        container["livenessProbe"] = {**probe, "initialDelaySeconds": 10, "periodSeconds": 20}
    if request.port:
        container["ports"] = [{"name": "http", "containerPort": request.port}]
    return container


def _workload(request: ManifestRequest, metadata: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    name = metadata["name"]
    pod_spec: dict[str, Any] = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                                "containers": [_container(request, name)]}
    template = {"metadata": {"labels": dict(labels)}, "spec": pod_spec}
    selector = {"matchLabels": {"app.kubernetes.io/name": name}}
    api = "batch/v1" if request.kind in ("Job", "CronJob") else "apps/v1"
    spec: dict[str, Any]
    if request.kind == "Job":
        pod_spec["restartPolicy"] = "Never"
        spec = {"backoffLimit": 3, "template": template}
    elif request.kind == "CronJob":
        pod_spec["restartPolicy"] = "Never"
        spec = {"schedule": request.schedule, "jobTemplate": {"spec": {"backoffLimit": 3, "template": template}}}
    elif request.kind == "DaemonSet":
        spec = {"selector": selector, "template": template}
    else:
        spec = {"replicas": request.replicas, "selector": selector, "template": template}
        if request.kind == "StatefulSet":
            spec["serviceName"] = name
    return {"apiVersion": api, "kind": request.kind, "metadata": dict(metadata), "spec": spec}


def _service(request: ManifestRequest, metadata: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    port = request.port or 80
    return {"apiVersion": "v1", "kind": "Service", "metadata": dict(metadata),
            "spec": {"selector": {"app.kubernetes.io/name": metadata["name"]},
                     "ports": [{"name": "http", "port": port, "targetPort": port}]}}
