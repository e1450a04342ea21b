"""The image of one source folder, built with the buildpack's Dockerfile: both backends build it
this way (docker keeps it on the host, kubernetes pushes it to the cluster's registry).

The generated Dockerfile (and the CA bundle, when `build.ca_bundle` is set) are written under
`<source>/.flashdrive/`, because a Docker build sees only files inside its context.
"""

from __future__ import annotations

import os
from pathlib import Path

import pulumi
import pulumi_docker as docker

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


def build_image(
    build: ResolvedBuild, image_name: str, *, push: bool, parent: pulumi.Resource, platform: str | None = None
) -> docker.Image:
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
