"""flashdrive:kubernetes:Image — one image per distinct source folder, built with the buildpack and
pushed to `kubernetes.registry`, because a cluster's nodes pull images, they never see a local one.

Pods take the pushed digest, so a rebuild rolls them. Pushing uses the credentials of the machine
running Pulumi (`docker login REGISTRY`).
"""

from __future__ import annotations

import pulumi

from flashdrive.model.stack import ResolvedBuild
from flashdrive.source_image import build_image


class Image(pulumi.ComponentResource):
    def __init__(self, build: ResolvedBuild, registry: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:kubernetes:Image", build.key, None, opts)
        self.image = build_image(build, f"{registry}/{build.key}:latest", push=True, parent=self)
        self.reference: pulumi.Output[str] = self.image.repo_digest
        self.register_outputs({"image": self.image.image_name, "digest": self.image.repo_digest})
