"""Containers as kubectl describe shows them, for pods and for workload pod templates.

Environment variables are shown by NAME with where a value comes from (a Secret or ConfigMap key, a
field); literal values are never shown, because that is where credentials end up in practice.
"""

from __future__ import annotations

from typing import Any

from agents.toolsets.kubernetes.render import probe, quantities

Obj = dict[str, Any]


def env_source(var: Obj) -> str:
    source = var.get("valueFrom")
    if not source:
        return "<literal value, not shown>" if "value" in var else "<empty>"
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        return f"<set to the key '{ref.get('key')}' in secret '{ref.get('name')}'>" + _optional(ref)
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return f"<set to the key '{ref.get('key')}' of config map '{ref.get('name')}'>" + _optional(ref)
    if "fieldRef" in source:
        return f"({source['fieldRef'].get('fieldPath')})"
    if "resourceFieldRef" in source:
        return f"({source['resourceFieldRef'].get('resource')})"
    return "<set from another source>"


def _optional(ref: Obj) -> str:
    return " (optional)" if ref.get("optional") else ""


def env_data(container: Obj) -> list[Obj]:
    """Env entries without literal values (names and valueFrom references only)."""
    return [{"name": v.get("name"), **({"valueFrom": v["valueFrom"]} if v.get("valueFrom") else {}),
             **({"literal": True} if "value" in v else {})} for v in container.get("env") or []]


def state_lines(label: str, state: Obj | None) -> list[str]:
    if not state:
        return []
    (name, detail), = list(state.items())[:1] or [("unknown", {})]
    lines = [f"{label + ':':<16}{name.capitalize()}"]
    for key, title in (("reason", "Reason"), ("message", "Message"), ("exitCode", "Exit Code"),
                       ("signal", "Signal"), ("startedAt", "Started"), ("finishedAt", "Finished")):
        if detail.get(key) not in (None, ""):
            lines.append(f"  {title + ':':<14}{' '.join(str(detail[key]).split())}")
    return lines


def container_block(container: Obj, status: Obj | None = None) -> list[str]:
    """One container (spec plus, for pods, its status) as indented describe lines."""
    lines = [f"{container.get('name')}:", f"  Image:          {container.get('image')}"]
    if status and status.get("imageID"):
        lines.append(f"  Image ID:       {status['imageID']}")
    if container.get("ports"):
        ports = ", ".join(f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}"
                          + (f" ({p['name']})" if p.get("name") else "") for p in container["ports"])
        lines.append(f"  Ports:          {ports}")
    if container.get("command"):
        lines.append(f"  Command:        {' '.join(container['command'])}")
    if container.get("args"):
        lines.append(f"  Args:           {' '.join(container['args'])}")
    if status:
        lines += ["  " + line for line in state_lines("State", status.get("state"))]
        lines += ["  " + line for line in state_lines("Last State", status.get("lastState"))]
        lines.append(f"  Ready:          {status.get('ready', False)}")
        lines.append(f"  Restart Count:  {status.get('restartCount', 0)}")
    resources = container.get("resources") or {}
    lines.append(f"  Limits:         {quantities(resources.get('limits'))}")
    lines.append(f"  Requests:       {quantities(resources.get('requests'))}")
    for kind in ("liveness", "readiness", "startup"):
        rendered = probe(container.get(f"{kind}Probe"))
        if rendered:
            lines.append(f"  {kind.capitalize() + ':':<16}{rendered}")
    if container.get("securityContext"):
        context = ", ".join(f"{k}={v}" for k, v in sorted(container["securityContext"].items()))
        lines.append(f"  Security:       {context}")
    env = container.get("env") or []
    lines.append("  Environment:" + ("" if env else "    <none>"))
    lines += [f"    {v.get('name')}:  {env_source(v)}" for v in env]
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef") or source.get("secretRef") or {}
        what = "config map" if "configMapRef" in source else "secret"
        lines.append(f"    <all keys of {what} '{ref.get('name')}'>{_optional(ref)}")
    mounts = container.get("volumeMounts") or []
    lines.append("  Mounts:" + ("         <none>" if not mounts else ""))
    lines += [f"    {m.get('mountPath')} from {m.get('name')} ({'ro' if m.get('readOnly') else 'rw'})"
              + (f" subPath {m['subPath']}" if m.get("subPath") else "") for m in mounts]
    return lines


def container_data(container: Obj, status: Obj | None = None) -> Obj:
    """The structured form the rules read: wire field names, env without values."""
    keep = ("name", "image", "command", "args", "ports", "resources", "volumeMounts", "livenessProbe",
            "readinessProbe", "startupProbe", "securityContext", "envFrom")
    data = {k: container[k] for k in keep if k in container}
    data["env"] = env_data(container)
    if status:
        for key in ("state", "lastState", "ready", "restartCount", "imageID", "started"):
            if key in status:
                data[key] = status[key]
    return data


def volume_line(volume: Obj) -> str:
    name = volume.get("name")
    for key, title, ref in (("configMap", "ConfigMap", "name"), ("secret", "Secret", "secretName"),
                            ("persistentVolumeClaim", "PersistentVolumeClaim", "claimName"),
                            ("hostPath", "HostPath", "path")):
        if key in volume:
            optional = " (optional)" if volume[key].get("optional") else ""
            return f"  {name}: {title} {volume[key].get(ref)}{optional}"
    kinds = ", ".join(k for k in volume if k != "name")
    return f"  {name}: {kinds or 'unknown'}"
