"""World facts for one container: what its image is, whether it can be pulled, and what its process does.

Image references are normalised the way containerd does (`nginx` -> `docker.io/library/nginx:latest`).
Facts are looked up by the most specific key first: `repo:tag`, then `repo`; container facts
(`world.containers`) that match the container override the image's behaviour field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.derive.context import Cluster, Obj
from sim.quantity import QuantityError, parse_size, to_bytes, to_millicores
from sim.scenario.schema import Behaviour, ContainerFacts, ImageFacts, World

DEFAULT_MEMORY = 20 * 2**20
DEFAULT_CPU_MILLIS = 5


@dataclass(frozen=True)
class ImageRef:
    written: str  # as in the pod spec
    registry: str
    repository: str  # library/nginx, team/api
    tag: str
    digest: str | None

    @property
    def full(self) -> str:
        if self.digest:
            return f"{self.registry}/{self.repository}@{self.digest}"
        return f"{self.registry}/{self.repository}:{self.tag}"

    @property
    def repo(self) -> str:
        return f"{self.registry}/{self.repository}"


def parse_image(image: str) -> ImageRef:
    rest, digest = (image.split("@", 1) + [None])[:2] if "@" in image else (image, None)
    tag = "latest"
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        rest, tag = rest.rsplit(":", 1)
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = "docker.io", rest
    if registry == "docker.io" and "/" not in repository:
        repository = f"library/{repository}"
    return ImageRef(image, registry, repository, tag, digest)


def _normalised_facts(world: World) -> dict[str, ImageFacts]:
    out: dict[str, ImageFacts] = {}
    for key, facts in world.images.items():
        ref = parse_image(key)
        has_tag = ":" in key.rsplit("/", 1)[-1] or "@" in key
        out[ref.full if has_tag else ref.repo] = facts
    return out


def image_facts(world: World, image: str) -> ImageFacts | None:
    facts = _normalised_facts(world)
    ref = parse_image(image)
    return facts.get(ref.full) or facts.get(ref.repo)


@dataclass(frozen=True)
class PullOutcome:
    ok: bool
    error: str | None = None  # the text after 'Failed to pull image "x": '


def pull(world: World, image: str, have_credentials: bool) -> PullOutcome:
    ref = parse_image(image)
    facts = image_facts(world, image)
    if facts is None:
        if world.strict_images:
            return PullOutcome(False, _not_found(ref))
        return PullOutcome(True)
    if facts.private and not have_credentials:
        return PullOutcome(
            False,
            f'rpc error: code = Unknown desc = failed to pull and unpack image "{ref.full}": failed to '
            f'resolve reference "{ref.full}": pull access denied, repository does not exist or may '
            "require authorization: server message: insufficient_scope: authorization failed",
        )
    if facts.tags is not None and not ref.digest and ref.tag not in facts.tags:
        return PullOutcome(False, _not_found(ref))
    return PullOutcome(True)


def _not_found(ref: ImageRef) -> str:
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref.full}": failed to '
        f'resolve reference "{ref.full}": {ref.full}: not found'
    )


def _matches(facts: ContainerFacts, namespace: str, workload: str, container: dict[str, Any], command: str) -> bool:
    checks = (
        (facts.namespace, namespace),
        (facts.workload, workload),
        (facts.container, container.get("name")),
        (facts.command, command),
    )
    if any(want is not None and want != have for want, have in checks):
        return False
    if facts.image is not None:
        return parse_image(facts.image).repo == parse_image(container.get("image", "")).repo and (
            ":" not in facts.image.rsplit("/", 1)[-1]
            or parse_image(facts.image).full == parse_image(container.get("image", "")).full
        )
    return True


_BEHAVIOUR_FIELDS = tuple(Behaviour.model_fields)


def effective_command(container: dict[str, Any], facts: ImageFacts | None) -> list[str]:
    command = list(container.get("command") or (facts.entrypoint if facts and facts.entrypoint else []))
    return command + [str(a) for a in container.get("args") or []]


def matching_entry(world: World, namespace: str, workload: str, container: dict[str, Any]) -> int | None:
    """The index of the first `world.containers` entry that applies to this container, if any."""
    command = effective_command(container, image_facts(world, container.get("image", "")))
    binary = command[0].rsplit("/", 1)[-1] if command else ""
    return next((i for i, entry in enumerate(world.containers)
                 if _matches(entry, namespace, workload, container, binary)), None)


def behaviour(world: World, namespace: str, workload: str, container: dict[str, Any]) -> Behaviour:
    """The image's behaviour overlaid with the first matching `world.containers` entry."""
    facts = image_facts(world, container.get("image", ""))
    merged: dict[str, Any] = {}
    if facts is not None:
        merged.update({f: getattr(facts, f) for f in facts.model_fields_set if f in _BEHAVIOUR_FIELDS})
    index = matching_entry(world, namespace, workload, container)
    if index is not None:
        entry = world.containers[index]
        merged.update({f: getattr(entry, f) for f in entry.model_fields_set if f in _BEHAVIOUR_FIELDS})
    return Behaviour().model_copy(update=merged)


def memory_usage(b: Behaviour, command: list[str]) -> tuple[int, int]:
    """(working set, peak) in bytes."""
    if b.memory_from_args is not None:
        spec = b.memory_from_args
        size = _flag_value(command, spec.flag)
        count = _flag_value(command, spec.count_flag) if spec.count_flag else "1"
        try:
            used = to_bytes(spec.base) + int(count or 1) * (parse_size(size) if size else 0)
        except (QuantityError, ValueError):
            used = to_bytes(spec.base)
        return used, used
    used = to_bytes(b.memory) if b.memory else DEFAULT_MEMORY
    return used, max(used, to_bytes(b.memory_peak) if b.memory_peak else used)


def cpu_usage(b: Behaviour) -> int:
    return to_millicores(b.cpu) if b.cpu else DEFAULT_CPU_MILLIS


def _flag_value(command: list[str], flag: str | None) -> str | None:
    if not flag:
        return None
    for i, word in enumerate(command):
        if word == flag and i + 1 < len(command):
            return command[i + 1]
        if word.startswith(flag + "="):
            return word.split("=", 1)[1]
    return None


def owner_workload(cluster: Cluster, pod: Obj) -> str:
    """The top-level owner's name (Deployment for a ReplicaSet's pod), for world.containers matching."""
    refs = pod["metadata"].get("ownerReferences") or []
    if not refs:
        return pod["metadata"]["name"]
    ref = refs[0]
    if ref.get("kind") == "ReplicaSet":
        rs = cluster.get("ReplicaSet", pod["metadata"].get("namespace"), ref["name"])
        for up in (rs or {}).get("metadata", {}).get("ownerReferences") or []:
            return str(up.get("name"))
    if ref.get("kind") == "Job":
        job = cluster.get("Job", pod["metadata"].get("namespace"), ref["name"])
        for up in (job or {}).get("metadata", {}).get("ownerReferences") or []:
            return str(up.get("name"))
    return str(ref.get("name"))
