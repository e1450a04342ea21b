"""`Aptfile`: extra Debian packages, one a line (the heroku-buildpack-apt convention).

They are installed in both stages: the build stage compiles against them, the runtime stage runs
with them. Only package names are taken; heroku-buildpack-apt's `.deb` URLs and `:repo:` lines
would fetch from places the build cannot vouch for, so they are errors with the fix.
"""

from __future__ import annotations

import re
from pathlib import Path

from flashdrive.buildpack.errors import BuildpackError
from flashdrive.buildpack.sources import read_text

APTFILE = "Aptfile"

# Debian policy 5.6.1: lower case letters, digits, + - . ; at least two characters, starting alphanumeric.
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


def read_aptfile(app_dir: Path) -> tuple[str, ...]:
    """The packages the app's Aptfile asks for, in file order without repeats; () without an Aptfile."""
    path = app_dir / APTFILE
    if not path.is_file():
        return ()
    packages: list[str] = []
    for number, raw in enumerate(read_text(path).split("\n"), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(":repo:") or "://" in line or line.endswith(".deb"):
            raise BuildpackError(
                f"Aptfile line '{line}' adds a repository or a .deb file; flashdrive installs packages from "
                "the base image's own Debian archive only",
                hint="name the Debian package instead (search https://packages.debian.org), or build the "
                "image yourself and set `image:` for this app",
                file=path,
                line=number,
            )
        for name in line.split():
            if not _PACKAGE.match(name):
                raise BuildpackError(
                    f"Aptfile names '{name}', which is not a Debian package name",
                    hint="write one package a line, lower case, as `apt-get install` takes it (e.g. `libgdal32`)",
                    file=path,
                    line=number,
                )
            if name not in packages:
                packages.append(name)
    return tuple(packages)
