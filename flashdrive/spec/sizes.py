"""The sizes table of SPEC.md, in one place. Apps and databases share it."""

from __future__ import annotations

from msgspec import Struct


class Size(Struct, frozen=True):
    name: str
    cpus: float
    memory_mib: int
    disk_gb: int  # free disk space for all disks of an app


SIZES: dict[str, Size] = {
    size.name: size
    for size in (
        Size("xs", 0.25, 256, 1),
        Size("s", 0.5, 512, 5),
        Size("m", 1, 1024, 10),
        Size("l", 2, 2048, 25),
        Size("xl", 4, 4096, 50),
    )
}
