"""Where a stack builds and runs: the Docker host and the platform, from stack config.

Left implicit, pulumi-docker takes DOCKER_HOST from whoever runs `pulumi up` and builds for that
machine's platform: an arm64 laptop builds arm64 images for an amd64 server, and a laptop and CI
would rebuild everything for each other. Both are stack config instead, with defaults:

    pulumi config set flashdrive:dockerHost ssh://deploy@server    # default unix:///var/run/docker.sock
    pulumi config set flashdrive:platform linux/arm64              # default linux/amd64
    pulumi config set flashdrive:publishAddress 10.0.0.12          # default: every address of the host

`publishAddress` is the host address the edge publishes 80 and 443 on: a seeded Docker preview runs
on its base's host (it reads the base's repository volume) where the base's edge holds 80/443 on
every address, so the preview needs an address of its own (README, "Preview environments").
"""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_docker as docker
from msgspec import Struct

from flashdrive.problems import InputError, Problem

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_PLATFORM = "linux/amd64"


class DockerHost(Struct, frozen=True):
    host: str
    platform: str
    publish_address: str | None = None  # the edge's 80/443 on this host address; None: on every address

    @staticmethod
    def from_config() -> "DockerHost":
        config = pulumi.Config("flashdrive")
        return DockerHost(
            host=config.get("dockerHost") or DEFAULT_HOST,
            platform=config.get("platform") or DEFAULT_PLATFORM,
            publish_address=publish_address(config.get("publishAddress")),
        )

    def provider(self, stack: str) -> docker.Provider:
        """The explicit provider every docker resource of the stack is created through."""
        return docker.Provider(f"{stack}-docker", host=self.host)


def publish_address(value: str | None) -> str | None:
    """The stack config flashdrive:publishAddress: an IP address of the Docker host, or None."""
    if value is None or not value.strip():
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise InputError(
            [
                Problem(
                    f"stack config flashdrive:publishAddress: '{value}' is not an IP address",
                    None,
                    "",
                    "give an address of the Docker host the edge publishes 80 and 443 on, e.g. "
                    "pulumi config set flashdrive:publishAddress 10.0.0.12",
                )
            ]
        ) from None
