"""flashdrive:docker:Build — one local image per distinct source folder, built with the buildpack.

The generated Dockerfile (and the CA bundle, when `build.ca_bundle` is set) are written under
`<source>/.flashdrive/`, because a Docker build sees only files inside its context.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from flashdrive.buildpack.build_context import context_hash
from flashdrive.model.resolve import CA_BUNDLE_IN_CONTEXT
from flashdrive.model.stack import ResolvedBuild

GENERATED_DIR = ".flashdrive"


def _write_if_changed(path: Path, content: bytes) -> None:
    if path.exists() and path.read_bytes() == content:
        return  # an unchanged file keeps its mtime, and the build cache stays warm
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def write_build_files(build: ResolvedBuild) -> Path:
    """Write what the build needs into the context; returns the Dockerfile's path."""
    generated = build.context / GENERATED_DIR
    dockerfile = generated / "Dockerfile"
    _write_if_changed(dockerfile, build.dockerfile.encode())
    specific_ignore = generated / "Dockerfile.dockerignore"
    if build.dockerignore is not None:
        # BuildKit reads <Dockerfile>.dockerignore, and prefers it to the context's .dockerignore.
        _write_if_changed(specific_ignore, build.dockerignore.encode())
    elif specific_ignore.is_file():
        # The app now brings its own .dockerignore: ours, left from an earlier run, would win over it.
        specific_ignore.unlink()
    if build.ca_bundle is not None:
        _write_if_changed(build.context / CA_BUNDLE_IN_CONTEXT, build.ca_bundle.read_bytes())
    return dockerfile


def _relative(path: Path) -> str:
    """Paths relative to the project, so plans read the same on every machine."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def build_image(build: ResolvedBuild, image_name: str, *, push: bool, parent: pulumi.Resource,
                platform: str | None = None) -> docker.Image:
    """The image of one source folder, built with the buildpack's Dockerfile (both backends).
    `platform`: left unset, the provider builds for the machine running Pulumi."""
    dockerfile = write_build_files(build)
    return docker.Image(
        build.key,
        image_name=image_name,
        build=docker.DockerBuildArgs(
            context=_relative(build.context),
            dockerfile=_relative(dockerfile),
            args=dict(build.build_args),
            builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
            platform=platform,
        ),
        skip_push=not push,
        opts=pulumi.ResourceOptions(parent=parent),
    )


class DockerBuild(pulumi.ComponentResource):
    def __init__(self, build: ResolvedBuild, platform: str, host: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:docker:Build", build.key, None, opts)
        self.key = build.key
        dockerfile = write_build_files(build)
        # What the image is made of, known before it is built: the copies' versions derive from it.
        self.version = hashlib.sha256(json.dumps(
            [context_hash(build.context, dockerfile), sorted(build.build_args), platform]).encode()).hexdigest()
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
            opts=pulumi.ResourceOptions(parent=self))
