"""flashdrive:kubernetes:Disk — a virtual disk: one PersistentVolumeClaim shared by every copy of its app.

Its name comes from the stack and the disk (never the app), and it is retained on delete: renaming
an app or `pulumi destroy` never deletes data. Copies on several nodes need ReadWriteMany; a single
copy gets ReadWriteOnce, which every storage class offers.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from flashdrive.kubernetes.hardening import labels, quantity_gb
from flashdrive.model.stack import ResolvedDisk


def access_mode(nodes: int) -> str:
    return "ReadWriteMany" if nodes > 1 else "ReadWriteOnce"


def claim_spec(size_gb: int, mode: str, storage_class: str | None) -> dict:
    spec: dict = {"accessModes": [mode], "resources": {"requests": {"storage": quantity_gb(size_gb)}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return spec


class Disk(pulumi.ComponentResource):
    def __init__(self, stack: str, disk: ResolvedDisk, nodes: int, namespace: pulumi.Input[str],
                 storage_class: str | None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:kubernetes:Disk", disk.volume_name, None, opts)
        self.shared = nodes > 1
        self.claim = k8s.core.v1.PersistentVolumeClaim(
            disk.volume_name,
            metadata={"name": disk.volume_name, "namespace": namespace, "labels": labels(stack, disk.name, "disk")},
            spec=claim_spec(disk.size_gb, access_mode(nodes), storage_class),
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True))
        self.name: pulumi.Output[str] = self.claim.metadata.name
        self.register_outputs({"claim": self.name})
