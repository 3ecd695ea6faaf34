"""Checks for configuration that is missing: an env var the app asks for, a ConfigMap/Secret/key ref."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from agents.diagnosis import ResourceRef
from agents.rules import pods, refs
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.registry import check
from agents.rules.workloads import previous_container_field, top_owner

_VAR = r"['\"`$]?\{?([A-Z][A-Z0-9_]{1,})\}?['\"`]?"
_ENV_MISSING = (
    re.compile(rf"(?i:env(?:ironment)?\s+var(?:iable)?)\s+{_VAR}\s+(?i:is\s+)?(?i:undefined|not\s+set|missing|unset|empty|required)"),
    re.compile(rf"(?i:missing|undefined|unset|required)\s+(?i:required\s+)?(?i:env(?:ironment)?\s+var(?:iable)?)s?\s*[:=]?\s*{_VAR}"),
    re.compile(r"KeyError: '([A-Z][A-Z0-9_]+)'"),
    re.compile(rf"{_VAR}\s+(?i:is\s+)?(?i:not\s+set|undefined|must\s+be\s+set|is\s+required)"),
)
_CHOICES = re.compile(r"\(([\w-]+(?:\|[\w-]+)+)\)")


def _env_entry(container: dict[str, Any], var: str) -> dict[str, Any] | None:
    return next((dict(item) for item in container.get("env") or [] if item.get("name") == var), None)


def _sibling_env(facts: Facts, pod: dict[str, Any], container: str, var: str) -> tuple[dict[str, Any], str] | None:
    """How other workloads in the namespace that run the same image set `var`, when they all agree."""
    image = str(pods.container(pod, container).get("image", "")).split("@")[0].rsplit(":", 1)[0]
    namespace = pod["metadata"].get("namespace")
    mine = top_owner(facts, pods.ref(pod))
    found: dict[str, tuple[dict[str, Any], str]] = {}
    for other in facts.all("Pod", namespace):
        owner = top_owner(facts, pods.ref(other))
        if owner == mine:
            continue
        for spec in pods.containers(other):
            if str(spec.get("image", "")).split("@")[0].rsplit(":", 1)[0] == image and (entry := _env_entry(spec, var)):
                found[repr(sorted(entry.items()))] = (entry, f"{owner.kind} {owner.name}")
    return next(iter(found.values())) if len(found) == 1 else None


def _env_fix(facts: Facts, pod: dict[str, Any], container: str, var: str, log_text: str) -> tuple[FixDraft, Clue | None]:
    """The env entry the cluster shows `var` had: in the workload's previous revision, or on a sibling workload
    of the same image. Otherwise no value (the planner may still find the key in a ConfigMap of the repo): the
    values the process's own message lists are candidates for a person, never a value to set."""
    path = f"{pods.container_path(pod, container)}.env[name={var}]"
    before = previous_container_field(facts, pod, container, lambda spec: _env_entry(spec, var))
    said = f"{var}={before['value']}" if before is not None and "value" in before else var
    if before is not None:
        return FixDraft(path, before, f"the previous revision of this workload set {said}; a later change "
                                      "dropped it"), Clue.of(f"env {said}", said)
    if sibling := _sibling_env(facts, pod, container, var):
        return FixDraft(path, sibling[0], f"{sibling[1]} runs the same image with {var} set this way"), None
    choices = next((m.group(1).split("|") for m in map(_CHOICES.search, log_text.splitlines()) if m), None)
    return FixDraft(f"{path}.value", None, f"the process requires {var}; no earlier revision, sibling workload or "
                    "ConfigMap in the cluster shows its value" + (
                        f" (candidates from its own message: {', '.join(choices)}; the service owner picks)"
                        if choices else "; the service owner supplies it")), None


def _declared_env(container: dict[str, Any]) -> set[str]:
    return {item.get("name") for item in container.get("env") or []}


@check("missing_env_var")
def missing_env_var(facts: Facts) -> Finding | None:
    """The process logs that a required environment variable is undefined, and the spec does not set it."""
    for pod in facts.pods():
        for log in facts.logs_for(pods.name(pod)):
            for line in log.text.splitlines():
                var = next((m.group(1) for p in _ENV_MISSING if (m := p.search(line))), None)
                container_name = log.container or (pods.containers(pod) or [{}])[0].get("name", "")
                if not var or var in _declared_env(pods.container(pod, container_name)):
                    continue
                fix, evidence = _env_fix(facts, pod, container_name, var, log.text)
                cause = f"container {container_name} requires environment variable {var}, which is not set; it logs: {line.strip()}"
                clues = (Clue.of(line.strip(), var, call_id=log.call_id),) + ((evidence,) if evidence else ())
                return Finding("missing_config", cause, 0.88, pods.ref(pod), clues, (fix,))
    return None


def _references(pod: dict[str, Any], kind: str, name: str) -> Iterator[str]:
    """Field paths in the pod spec that reference the ConfigMap/Secret `name`."""
    key = "secretKeyRef" if kind == "Secret" else "configMapKeyRef"
    env_from_key = "secretRef" if kind == "Secret" else "configMapRef"
    for container in pods.containers(pod):
        base = pods.container_path(pod, container["name"])
        for env in container.get("env") or []:
            if ((env.get("valueFrom") or {}).get(key) or {}).get("name") == name:
                yield f"{base}.env[name={env['name']}].valueFrom.{key}.name"
        for i, source in enumerate(container.get("envFrom") or []):
            if (source.get(env_from_key) or {}).get("name") == name:
                yield f"{base}.envFrom[{i}].{env_from_key}.name"
    for volume in pod.get("spec", {}).get("volumes") or []:
        if kind == "ConfigMap" and (volume.get("configMap") or {}).get("name") == name:
            yield f"spec.volumes[name={volume['name']}].configMap.name"
        if kind == "Secret" and (volume.get("secret") or {}).get("secretName") == name:
            yield f"spec.volumes[name={volume['name']}].secret.secretName"


def _needed_key(pod: dict[str, Any], path: str) -> str | None:
    """The key an env `...KeyRef` reference at `path` reads (volumes and envFrom read the whole object)."""
    match = re.search(r"containers\[name=([^\]]+)\]\.env\[name=([^\]]+)\]\.valueFrom\.(\w+)\.name$", path)
    if not match:
        return None
    for env in pods.container(pod, match.group(1)).get("env") or []:
        if env.get("name") == match.group(2):
            return ((env.get("valueFrom") or {}).get(match.group(3)) or {}).get("key")
    return None


def _replacement(facts: Facts, kind: str, name: str, namespace: str | None, key: str | None) -> tuple[str, str] | None:
    """(name, why) of the existing object the reference most likely meant: a close name, and when its keys can be
    read, one that has the key the reference reads. Two about equally close names that both fit: None."""
    fitting = [c for c in refs.closest(name, refs.existing(facts, kind, namespace), cutoff=0.5)
               if not (key and (shown := refs.keys(facts.get(kind, namespace, c))) is not None and key not in shown)]
    candidate = refs.unambiguous(name, fitting)
    if candidate is not None:
        shown = refs.keys(facts.get(kind, namespace, candidate))
        if key and shown is not None:
            return candidate, f"{kind} {candidate} exists in {namespace} and has key {key}"
        if key:
            return candidate, f"{kind} {candidate} exists in {namespace} (its key names could not be read, so key {key} is unconfirmed)"
        return candidate, f"{kind} {candidate} exists in {namespace}"
    return None


@check("config_ref_missing")
def config_ref_missing(facts: Facts) -> Finding | None:
    """The pod references a ConfigMap, Secret or key that does not exist (CreateContainerConfigError, FailedMount)."""
    for pod in facts.pods():
        for message, call_id in refs.pod_messages(facts, pod):
            if match := refs.REF_MISSING[0].search(message):
                kind, name, key = refs.REF_KINDS[match.group(1).lower()], match.group(2), None
            elif match := refs.REF_MISSING[1].search(message):
                kind, name, key = refs.REF_KINDS[match.group(2).lower()], match.group(3), match.group(1)
            else:
                continue
            namespace = pod["metadata"].get("namespace")
            paths = list(_references(pod, kind, name))
            what = f"key {key} of {kind} {name}" if key else f"{kind} {name}"
            where = f" (referenced at {paths[0]})" if paths else ""
            cause = f"the pod references {what}, which does not exist{where}."
            found = _replacement(facts, kind, name, namespace, _needed_key(pod, paths[0]) if paths else None) \
                if paths and not key else None
            if found:
                cause += f" {found[1][0].upper()}{found[1][1:]}."
            elif paths and not key and len(near := refs.closest(name, refs.existing(facts, kind, namespace), cutoff=0.5)) > 1:
                cause += f" Existing {kind}s with close names, about equally likely meant: {', '.join(near[:4])}."
            fixes = tuple(FixDraft(path, found[0] if found else None,
                                   f"point the reference at the existing {kind}: {found[1]}" if found
                                   else f"create {what}, or point the reference at one that exists")
                          for path in paths[:1])
            needle = f'"{name}" not found' if not key else f"couldn't find key {key}"
            clues = (Clue.of(needle, name, call_id=call_id),)
            if found and (listed := facts.listed.get((kind, namespace))):
                clues += (Clue.of(found[0], call_id=listed[1]),)
            return Finding("missing_config", cause, 0.9, pods.ref(pod), clues, fixes)
    return None


_PARSE_ERROR = re.compile(r"JSONDecodeError|json: cannot unmarshal|invalid character .{1,40} looking for|"
                          r"unexpected end of JSON input|yaml\.(?:scanner|parser|composer)\.\w+Error|YAMLException|"
                          r"yaml: line \d+|TomlDecodeError|could not parse (?:config|configuration)|"
                          r"(?:malformed|invalid) (?:config|configuration)(?: file)?\b")
_CONFIG_PATH = re.compile(r"(/[\w./-]+\.(?:json|ya?ml|toml|ini|conf|cfg|properties))\b")


def _config_map_of(pod: dict[str, Any], container: str, path: str | None) -> tuple[str, str] | None:
    """(ConfigMap name, key) behind a file path the container reads, from its mounts and the pod's volumes."""
    volumes = {v["name"]: v for v in pod.get("spec", {}).get("volumes") or []}
    for mount in pods.container(pod, container).get("volumeMounts") or []:
        source = (volumes.get(mount.get("name")) or {}).get("configMap")
        root = str(mount.get("mountPath", "")).rstrip("/")
        if source and (path is None or path.startswith(f"{root}/")):
            return source.get("name"), (path[len(root) + 1:] if path else "")
    return None


@check("invalid_config_file")
def invalid_config_file(facts: Facts) -> Finding | None:
    """The process exits because a configuration file it reads does not parse (JSON/YAML/TOML errors)."""
    for pod in facts.pods():
        for log in facts.logs_for(pods.name(pod)):
            line = next((ln.strip() for ln in log.text.splitlines() if _PARSE_ERROR.search(ln)), None)
            if not line:
                continue
            container = log.container or (pods.containers(pod) or [{"name": ""}])[0]["name"]
            path = next((m.group(1) for m in map(_CONFIG_PATH.search, log.text.splitlines()) if m), None)
            source = _config_map_of(pod, container, path)
            cause = f"container {container} cannot parse its configuration" + (f" {path}" if path else "") + (
                f" (ConfigMap {source[0]}, key {source[1]})" if source and source[1] else
                f" (ConfigMap {source[0]})" if source else "") + f": {line}"
            fixes = ()
            if source:
                ref = ResourceRef(kind="ConfigMap", namespace=pod["metadata"].get("namespace"), name=source[0])
                fixes = (FixDraft(f'data["{source[1]}"]' if source[1] else "data", None,
                                  "restore the last valid content (the parser names the line)", resource=ref),)
            return Finding("invalid_config", cause, 0.88, pods.ref(pod), (Clue.of(line, call_id=log.call_id),), fixes,
                           escalate="the parser names the broken spot, but the valid content is the author's (the cluster "
                                    "holds no earlier version of it); a human restores it")
    return None
