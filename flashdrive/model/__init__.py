"""The resolved model between the spec and the backends."""

from flashdrive.model.preview import DroppedDomain, ResolvedPreview, ResolvedSeed
from flashdrive.model.resolve import resolve
from flashdrive.model.stack import (
    ResolvedApp,
    ResolvedBuild,
    ResolvedDatabase,
    ResolvedDisk,
    ResolvedDomain,
    ResolvedStack,
)

__all__ = [
    "resolve",
    "DroppedDomain",
    "ResolvedPreview",
    "ResolvedSeed",
    "ResolvedApp",
    "ResolvedBuild",
    "ResolvedDatabase",
    "ResolvedDisk",
    "ResolvedDomain",
    "ResolvedStack",
]
