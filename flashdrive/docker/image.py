"""flashdrive:docker:Build — one local image per distinct source folder, built with the buildpack
(flashdrive/source_image.py)."""

from __future__ import annotations

import hashlib
import json

import pulumi
import pulumi_command as command

from flashdrive.buildpack.build_context import context_hash
from flashdrive.model.stack import ResolvedBuild
from flashdrive.source_image import build_image, write_build_files


class DockerBuild(pulumi.ComponentResource):
    def __init__(self, build: ResolvedBuild, platform: str, host: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:docker:Build", build.key, None, opts)
        self.key = build.key
        dockerfile = write_build_files(build)
        # What the image is made of, known before it is built: the copies' versions derive from it.
        self.version = hashlib.sha256(
            json.dumps([context_hash(build.context, dockerfile), sorted(build.build_args), platform]).encode()
        ).hexdigest()
        # Local only: a single Docker host runs what it built, no registry in between.
        self.image = build_image(build, f"flashdrive/{build.key}:latest", push=False, parent=self, platform=platform)
        # The digest changes with every rebuild, so containers that take it roll.
        self.reference = self.image.repo_digest
        self.cleanup = self._remove_when_replaced(host)
        self.register_outputs({"image": self.image.image_name, "digest": self.image.repo_digest})

    def _remove_when_replaced(self, host: str) -> command.local.Command:
        """Rebuilt images would pile up untagged: each rebuild moves the tag, and the old image stays.
        This Command lives as long as one image: a new digest replaces it, and its delete, run with
        the old inputs, removes the old image. Everything that runs the image (copies, release)
        depends on it, so the engine deletes it after them, at the end of the `up`; an image still
        used by a container is not removed (`docker image rm` refuses, without -f)."""
        return command.local.Command(
            f"{self.key}-image-cleanup",
            create='echo "$FLASHDRIVE_IMAGE"',
            delete='docker image rm "$FLASHDRIVE_IMAGE" >/dev/null 2>&1 || true',
            environment={"DOCKER_HOST": host, "FLASHDRIVE_IMAGE": self.reference},
            triggers=[self.reference],
            add_previous_output_in_env=False,
            logging=command.local.Logging.NONE,
            opts=pulumi.ResourceOptions(parent=self),
        )
