"""flashdrive:kubernetes:Image — one image per distinct source folder, built with the buildpack and
pushed to `kubernetes.registry`, because a cluster's nodes pull images, they never see a local one.

Pods take the pushed digest, so a rebuild rolls them. Pushing uses the credentials of the machine
running Pulumi (`docker login REGISTRY`).
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from flashdrive.docker.image import _relative as relative_to_project
from flashdrive.docker.image import write_build_files
from flashdrive.model.stack import ResolvedBuild


class Image(pulumi.ComponentResource):
    def __init__(self, build: ResolvedBuild, registry: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:kubernetes:Image", build.key, None, opts)
        dockerfile = write_build_files(build)
        self.image = docker.Image(
            build.key,
            image_name=f"{registry}/{build.key}:latest",
            build=docker.DockerBuildArgs(
                context=relative_to_project(build.context),
                dockerfile=relative_to_project(dockerfile),
                args=dict(build.build_args),
                builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
            ),
            skip_push=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.reference: pulumi.Output[str] = self.image.repo_digest
        self.register_outputs({"image": self.image.image_name, "digest": self.image.repo_digest})
