"""Where a stack builds and runs: the Docker host and the platform, from stack config.

Left implicit, pulumi-docker takes DOCKER_HOST from whoever runs `pulumi up` and builds for that
machine's platform: an arm64 laptop builds arm64 images for an amd64 server, and a laptop and CI
would rebuild everything for each other. Both are stack config instead, with defaults:

    pulumi config set flashdrive:dockerHost ssh://deploy@server    # default unix:///var/run/docker.sock
    pulumi config set flashdrive:platform linux/arm64              # default linux/amd64
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_PLATFORM = "linux/amd64"


@dataclass(frozen=True)
class DockerHost:
    host: str
    platform: str

    @staticmethod
    def from_config() -> "DockerHost":
        config = pulumi.Config("flashdrive")
        return DockerHost(host=config.get("dockerHost") or DEFAULT_HOST,
                          platform=config.get("platform") or DEFAULT_PLATFORM)

    def provider(self, stack: str) -> docker.Provider:
        """The explicit provider every docker resource of the stack is created through."""
        return docker.Provider(f"{stack}-docker", host=self.host)
