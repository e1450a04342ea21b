"""Which planned resources hold data, and what data: the table the data-loss guard reads.

A data holder is recognised by its type and by the labels the backend puts on it:
`flashdrive.disk=<disk>`, `flashdrive.database=<database>`, `flashdrive.role=edge` (the edge's
certificates and ACME account) and `flashdrive.role=backups` (the backup repository). A backend
adds a row to `HOLDER_TYPES`: its type token, where the labels are, where the physical name is.

The Kubernetes backend joins with rows for PersistentVolumeClaim (disks, the backup repository),
StatefulSet (a database's volumeClaimTemplate: replaced under the same name, it binds the same
claims again) and Namespace (deleting it deletes every claim in it), mapping its
`app.kubernetes.io/component`/`name` labels to the kinds below, together with pulumi-kubernetes
entries in replacement.py (a claim's storage request grows in place).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flashdrive.plan.model import PlannedResource


@dataclass(frozen=True)
class HolderType:
    type_token: str
    labels: Callable[[Mapping[str, Any]], dict[str, str]]
    physical_name: Callable[[Mapping[str, Any]], str | None]
    noun: str  # what the thing is called in messages


def docker_labels(inputs: Mapping[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in inputs.get("labels") or []:
        if isinstance(item, Mapping) and isinstance(item.get("label"), str):
            found[item["label"]] = str(item.get("value", ""))
    return found


def _docker_name(inputs: Mapping[str, Any]) -> str | None:
    name = inputs.get("name")
    return name if isinstance(name, str) else None


HOLDER_TYPES: dict[str, HolderType] = {row.type_token: row for row in (
    HolderType("docker:index/volume:Volume", docker_labels, _docker_name, "volume"),
)}


@dataclass(frozen=True)
class Holder:
    """What one data-holding resource keeps."""

    kind: str  # disk | database | edge | backups
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
    if "flashdrive.disk" in labels:
        return Holder("disk", labels["flashdrive.disk"], physical, row.noun)
    if "flashdrive.database" in labels:
        return Holder("database", labels["flashdrive.database"], physical, row.noun)
    role = labels.get("flashdrive.role")
    if role == "edge":
        return Holder("edge", None, physical, row.noun)
    if role == "backups":
        return Holder("backups", None, physical, row.noun)
    return None
