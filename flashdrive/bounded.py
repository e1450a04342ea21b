"""Reading a user's file without hanging or filling memory: regular files only, up to a size.

A FIFO blocks a plain read forever, /dev/zero never ends, and a multi-gigabyte file is read whole
before anything can complain: all three are refused up front with the reason, and the size is
checked again while reading, for a file that grows.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MIB = 1024 * 1024


class FileRefused(OSError):
    """A file that is not read: its `reason` says why, for the caller's one-line error."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def read_bounded(path: Path | str, limit: int) -> bytes:
    """The file's bytes. FileRefused for a non-regular file or one over `limit` bytes; other
    OSErrors (missing, no permission, name too long) and ValueError (a NUL in the name) pass."""
    # O_NONBLOCK: opening a FIFO with no writer would block before fstat could refuse it.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(21, "Is a directory", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused("it is not a regular file (a pipe, device or socket)")
        if info.st_size > limit:
            raise FileRefused(
                f"it is {info.st_size / MIB:.1f} MiB, more than the {limit / MIB:.0f} MiB this file may have"
            )
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 * MIB)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise FileRefused(f"it is more than the {limit / MIB:.0f} MiB this file may have")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def os_reason(exc: BaseException) -> str:
    """One line for an error raised while opening or reading a file."""
    if isinstance(exc, FileRefused):
        return exc.reason
    if isinstance(exc, ValueError):  # "embedded null byte"
        return "the path holds a NUL character"
    return getattr(exc, "strerror", None) or str(exc)
