"""Deterministic stand-ins for what Kubernetes randomises: hashes, name suffixes, UIDs, IPs, container IDs.

The same scenario always yields the same pod names, so alerts in a scenario file can name real pods.
pod-template-hash follows the real recipe's shape (FNV-32a of the template, SafeEncodeString).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

# rand.SafeEncodeString's alphabet: no vowels, no ambiguous characters.
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_UID_NAMESPACE = uuid.UUID("6f1d3c2a-4b5e-4c7d-8e9f-0a1b2c3d4e5f")


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    return "".join(ALPHANUMS[ord(c) % len(ALPHANUMS)] for c in text)


def stable_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def template_hash(template: Any, collision_count: int = 0) -> str:
    """The pod-template-hash label value for a Deployment's template."""
    return safe_encode(str(fnv32a((stable_json(template) + str(collision_count)).encode())))


def suffix(seed: str, length: int = 5) -> str:
    """A generateName-style suffix (`-x7k2q`) that is a pure function of `seed`."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(ALPHANUMS[b % len(ALPHANUMS)] for b in digest[:length])


def digest(seed: str, length: int = 64) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def uid(seed: str) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, seed))


def short_hash(seed: str) -> int:
    return int(digest(seed, 8), 16)
