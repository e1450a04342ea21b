"""Which planned resources hold data, and what data: the table the data-loss guard reads.

A data holder is recognised by its type and by the labels the backend puts on it:
`flashdrive.disk=<disk>`, `flashdrive.database=<database>`, `flashdrive.role=edge` (the edge's
certificates and ACME account) and `flashdrive.role=backups` (the backup repository). A backend
adds a row to `HOLDER_TYPES`: its type token, where the labels are, where the physical name is.

Kubernetes rows: PersistentVolumeClaim (disks, databases, the backup repository) and Namespace
(deleting it deletes every claim in it); their `app.kubernetes.io/component`/`name` labels map to
the kinds below. A database's StatefulSet holds no data: it mounts the database's own claim.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from msgspec import Struct

from flashdrive.labels import (
    DOCKER_VOLUME,
    K8S_CLAIM,
    K8S_COMPONENT,
    K8S_NAME,
    K8S_NAMESPACE,
    LABEL_DATABASE,
    LABEL_DISK,
    LABEL_ROLE,
    docker_labels,
)
from flashdrive.plan.plan import PlannedResource


class HolderType(Struct, frozen=True):
    type_token: str
    labels: Callable[[Mapping[str, Any]], dict[str, str]]
    physical_name: Callable[[Mapping[str, Any]], str | None]
    noun: str  # what the thing is called in messages


def _docker_name(inputs: Mapping[str, Any]) -> str | None:
    name = inputs.get("name")
    return name if isinstance(name, str) else None


_KUBERNETES_KINDS = {"disk": LABEL_DISK, "database": LABEL_DATABASE}


def kubernetes_labels(inputs: Mapping[str, Any]) -> dict[str, str]:
    """The kubernetes backend's `app.kubernetes.io/*` labels, in the docker labels' terms."""
    metadata = inputs.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
    if not isinstance(labels, Mapping):
        return {}
    component, name = labels.get(K8S_COMPONENT), labels.get(K8S_NAME)
    if isinstance(component, str) and component in _KUBERNETES_KINDS and name:
        return {_KUBERNETES_KINDS[component]: str(name)}
    if component == "backup":
        return {LABEL_ROLE: "backups"}
    return {}


def _kubernetes_name(inputs: Mapping[str, Any]) -> str | None:
    metadata = inputs.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) else None


def _namespace_labels(inputs: Mapping[str, Any]) -> dict[str, str]:
    return {LABEL_ROLE: "namespace"}


HOLDER_TYPES: dict[str, HolderType] = {
    row.type_token: row
    for row in (
        HolderType(DOCKER_VOLUME, docker_labels, _docker_name, "volume"),
        HolderType(K8S_CLAIM, kubernetes_labels, _kubernetes_name, "volume claim"),
        HolderType(K8S_NAMESPACE, _namespace_labels, _kubernetes_name, "namespace"),
    )
}


class Holder(Struct, frozen=True):
    """What one data-holding resource keeps."""

    kind: str  # disk | database | edge | backups | namespace
    name: str | None  # the disk's or database's name in the spec
    physical: str | None  # the volume's own name on the host
    noun: str

    @property
    def label(self) -> str:
        """How messages name it: "disk 'media'", "database 'main'", "the edge's certificates"."""
        if self.kind == "disk":
            return f"disk '{self.name}'"
        if self.kind == "database":
            return f"database '{self.name}'"
        if self.kind == "edge":
            return "the edge's certificates and ACME account"
        if self.kind == "namespace":
            return f"namespace '{self.physical}' (and every claim in it)"
        return "the backup repository"

    @property
    def markdown_label(self) -> str:
        if self.kind in ("disk", "database"):
            return f"{self.kind} `{self.name}`"
        return self.label


def holder_of(resource: PlannedResource) -> Holder | None:
    """The data a resource holds, or None if it holds none (or is not labelled as holding any)."""
    row = HOLDER_TYPES.get(resource.type)
    if row is None:
        return None
    labels = row.labels(resource.inputs)
    physical = row.physical_name(resource.inputs)
    if LABEL_DISK in labels:
        return Holder("disk", labels[LABEL_DISK], physical, row.noun)
    if LABEL_DATABASE in labels:
        return Holder("database", labels[LABEL_DATABASE], physical, row.noun)
    role = labels.get(LABEL_ROLE)
    if role in ("edge", "backups", "namespace"):
        return Holder(role, None, physical, row.noun)
    return None
