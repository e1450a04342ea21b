"""Which image each official component uses, through the spec's `images` settings."""

from __future__ import annotations

from flashdrive.engines import ENGINES
from flashdrive.spec.contract import Images

# Docker Hub's official images; `{version}` is the Python or engine version asked for.
DEFAULT_IMAGES = {
    "python": "python:{version}-slim",
    # The build stage: the full image has the compilers and -dev headers (buildpack-deps underneath).
    "python_build": "python:{version}",
    **{name: facts.image for name, facts in ENGINES.items()},
    "caddy": "caddy:{version}",
    "restic": "restic/restic:{version}",
    "rclone": "rclone/rclone:{version}",
}
DEFAULT_VERSIONS = {"caddy": "2", "restic": "0.17.3", "rclone": "1"}


def image_for(images: Images, key: str, version: str | None = None) -> str:
    """An override by key wins; else the default image, behind the mirror prefix if one is set."""
    version = version or DEFAULT_VERSIONS.get(key, "latest")
    override = getattr(images, key)
    if override:
        return override.replace("{version}", version)
    image = DEFAULT_IMAGES[key].replace("{version}", version)
    if images.mirror:
        image = f"{images.mirror.rstrip('/')}/{image}"
    return image
