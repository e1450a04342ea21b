"""The resolved model between the spec and the backends."""

from flashdrive.model.resolve import resolve
from flashdrive.model.stack import (ResolvedApp, ResolvedBuild, ResolvedDatabase, ResolvedDisk,
                                    ResolvedDomain, ResolvedStack)

__all__ = ["resolve", "ResolvedApp", "ResolvedBuild", "ResolvedDatabase", "ResolvedDisk",
           "ResolvedDomain", "ResolvedStack"]
