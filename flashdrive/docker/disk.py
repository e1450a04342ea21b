"""flashdrive:docker:Disk — a virtual disk: one Docker volume shared by every copy of its app.

Every Volume input forces a replacement and a replacement deletes data, so the volume has only
inputs that never change: its physical name (stack + disk name, never the app's) and fixed
labels. Size is not a volume input (local volumes have none); it is enforced by validation.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from flashdrive.labels import LABEL_DISK, LABEL_STACK
from flashdrive.model.stack import ResolvedDisk


def retained_volume(name: str, labels: dict[str, str], parent: pulumi.Resource, retain: bool = True) -> docker.Volume:
    """A volume that holds data: `pulumi destroy` and replacements leave it in place. A preview's
    (`retain=False`) goes with the preview: its data is a scrubbed copy, not to be left behind."""
    return docker.Volume(
        name,
        name=name,
        driver="local",
        labels=[docker.VolumeLabelArgs(label=k, value=v) for k, v in sorted(labels.items())],
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=retain),
    )


class DockerDisk(pulumi.ComponentResource):
    def __init__(self, stack: str, disk: ResolvedDisk, opts: pulumi.ResourceOptions | None = None, retain: bool = True):
        super().__init__("flashdrive:docker:Disk", disk.volume_name, None, opts)
        self.volume = retained_volume(disk.volume_name, {LABEL_STACK: stack, LABEL_DISK: disk.name}, self, retain)
        self.register_outputs({"volume": self.volume.name})
