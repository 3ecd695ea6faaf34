"""An alert as the incident store takes it, whatever sent it (Alertmanager or a Warning event)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from app.db.storable_text import storable, storable_mapping
from app.incidents.grouping import ResourceRef, WorkloadResolver, family_of, join_key, resource_of

# Alertmanager sends this for "not ended yet".
_ZERO_TIME_YEAR = 1
# A title is a line on a card or a list; each label in it is cut to this many characters.
TITLE_PART_MAX = 120


@dataclass(frozen=True)
class IncomingAlert:
    source: Literal["alertmanager", "k8s_event"]
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str | None
    cluster: str
    resource: ResourceRef | None
    family: str
    # Fields whose text Postgres could not hold (NUL, lone surrogates), stored with U+FFFD instead.
    replaced_fields: tuple[str, ...] = field(default=())

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "unnamed")

    @property
    def namespace(self) -> str | None:
        return self.labels.get("namespace") or None

    @property
    def severity(self) -> str | None:
        return self.labels.get("severity") or None

    @property
    def join_key(self) -> str:
        return join_key(self.cluster, self.namespace, self.resource, self.family)

    def title(self) -> str:
        where = f"{self.namespace}/{self.resource}" if self.namespace and self.resource else (
            str(self.resource) if self.resource else (self.namespace or "cluster"))
        return f"{_cut(self.alertname)} on {_cut(where)} ({_cut(self.cluster)})"


def _cut(text: str) -> str:
    return text if len(text) <= TITLE_PART_MAX else text[:TITLE_PART_MAX - 1] + "…"


@dataclass(frozen=True)
class AlertBatch:
    """One delivery: the raw body (JSON text, stored as received) and the alerts it carries."""

    source: Literal["alertmanager", "k8s_event"]
    body: str
    group_key: str | None
    alerts: list[IncomingAlert]

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()


@dataclass(frozen=True)
class ClusterNaming:
    """Which label names the cluster, and the cluster assumed when no label does."""

    label: str = "cluster"
    default: str = "default"

    def cluster_of(self, labels: dict[str, str]) -> str:
        # `cluster_id` is the other common spelling (Thanos/Grafana Cloud external labels).
        return labels.get(self.label) or labels.get("cluster") or labels.get("cluster_id") or self.default


@dataclass(frozen=True)
class AlertClassifier:
    """Classifies alerts: their cluster, the resource they are about, and their family."""

    naming: ClusterNaming
    resolver: WorkloadResolver

    async def classify(
        self,
        *,
        source: Literal["alertmanager", "k8s_event"],
        fingerprint: str,
        starts_at: datetime,
        ends_at: datetime | None,
        status: Literal["firing", "resolved"],
        labels: dict[str, str],
        annotations: dict[str, str],
        generator_url: str | None,
    ) -> IncomingAlert:
        # Made storable before anything is derived from them, so the incident's cluster, resource and
        # join key are the ones stored.
        labels, replaced = storable_mapping(labels, "labels")
        annotations, replaced_annotations = storable_mapping(annotations, "annotations")
        replaced += replaced_annotations
        for name, value in (("fingerprint", fingerprint), ("generator_url", generator_url or "")):
            if storable(value) is not value:
                replaced.append(name)
        fingerprint, generator_url = storable(fingerprint), storable(generator_url or "")
        cluster = self.naming.cluster_of(labels)
        resource = await resource_of(labels, cluster, self.resolver)
        return IncomingAlert(
            source=source,
            fingerprint=fingerprint,
            starts_at=starts_at,
            ends_at=None if ends_at is None or ends_at.year <= _ZERO_TIME_YEAR else ends_at,
            status=status,
            labels=labels,
            annotations=annotations,
            generator_url=generator_url or None,
            cluster=cluster,
            resource=resource,
            family=family_of(labels.get("alertname", "unnamed")),
            replaced_fields=tuple(replaced),
        )
