"""flashdrive:kubernetes:Disk — a virtual disk: one PersistentVolumeClaim shared by every copy of its app.

Its name comes from the stack and the disk (never the app), and it is retained on delete: renaming
an app or `pulumi destroy` never deletes data. A preview's is not (`retain=False`): a scrubbed copy,
it goes with the preview. Copies on several nodes need ReadWriteMany; a single
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


class KubernetesDisk(pulumi.ComponentResource):
    def __init__(
        self,
        stack: str,
        disk: ResolvedDisk,
        nodes: int,
        namespace: pulumi.Input[str],
        storage_class: str | None,
        opts: pulumi.ResourceOptions | None = None,
        retain: bool = True,
    ):
        super().__init__("flashdrive:kubernetes:Disk", disk.volume_name, None, opts)
        self.shared = nodes > 1
        self.physical = disk.volume_name
        self.access_mode = access_mode(nodes)
        self.claim = k8s.core.v1.PersistentVolumeClaim(
            disk.volume_name,
            metadata={"name": disk.volume_name, "namespace": namespace, "labels": labels(stack, disk.name, "disk")},
            spec=claim_spec(disk.size_gb, access_mode(nodes), storage_class),
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=retain),
        )
        self.name: pulumi.Output[str] = self.claim.metadata.name
        self.register_outputs({"claim": self.name})


def write_check(disks: list[tuple[str, str, str]], storage_class: str | None, group: int) -> str:
    """A shell script, run before a copy starts, that exits 1 with what/why/fix when one of the
    (disk, claim, mount) cannot be written: `fsGroup` gives a volume to the pods' group only where
    the CSI driver applies it, and most ReadWriteMany drivers (NFS, EFS, Azure Files) do not."""
    where = f"kubernetes.storage_class '{storage_class}'" if storage_class else "the cluster's default storage class"
    lines = [
        "failed=0",
        "check() {",
        '  probe="$3/.flashdrive-write-check-${HOSTNAME:-$$}"',
        '  if (: > "$probe") 2>/dev/null && rm -f "$probe"; then return 0; fi',
        (
            "  echo \"error: disk '$1' (claim $2) is mounted at $3, but this pod (uid $(id -u 2>/dev/null),"
            ' groups $(id -G 2>/dev/null)) cannot write to it" >&2'
        ),
        "  failed=1",
        "}",
    ]
    lines += [f"check {name} {claim} {mount}" for name, claim, mount in disks]
    lines += [
        '[ "$failed" = 0 ] && exit 0',
        "cat >&2 <<'EOF'",
        (
            f"why: the volume is not owned by group {group}: the storage driver did not apply the pod's fsGroup"
            " (most ReadWriteMany drivers, such as NFS, EFS and Azure Files, ignore it)"
        ),
        (
            f"fix: make {where} create volumes owned by uid and gid {group}: on EFS, the parameters"
            f' provisioningMode: efs-ap, uid: "{group}", gid: "{group}"; on NFS, an export owned by {group}:{group}'
            f" (or all_squash,anonuid={group},anongid={group}); or use a class whose CSI driver has fsGroupPolicy: File"
        ),
        "EOF",
        "exit 1",
    ]
    return "\n".join(lines)
