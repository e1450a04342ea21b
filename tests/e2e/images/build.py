"""Builds local stand-ins for the official images the end-to-end stack uses.

No container registry is reachable from this machine, so nothing can be pulled: a Debian bookworm
root filesystem is made with debootstrap and imported as `flashdrive-e2e/debian:bookworm`, and
each stand-in is a small Dockerfile on top of it that installs Debian's packages (containers reach
Debian's mirrors through the bridge's NAT).

Every image carries the label `flashdrive.recipe=<sha256>`: a hash of its recipe folder's files
and, for those built on the base, of the base image's id. An image whose label already matches is
not built again, so a warm machine pays only a few `docker image inspect` calls.

    /work/main/.venv/bin/python tests/e2e/images/build.py [--force] [--jobs N] [--json]

From Python (a pytest session fixture): `build_all()` returns IMAGES, the spec's `images:`
overrides, once every image is present and current; it raises BuildError with docker's output.
Import this file by path (importlib), not as `build`, which PyPI's `build` package may shadow.
The app's Python version does not matter to the stand-in: the e2e spec overrides `images.python`
with the fixed tag below, so a pip app pinned to 3.12 builds on bookworm's 3.11. Not a uv app:
its generated Dockerfile sets UV_PYTHON to the pinned version, which must then be 3.11.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABEL = "flashdrive.recipe"
BASE = "flashdrive-e2e/debian:bookworm"
LOCK = Path(tempfile.gettempdir()) / "flashdrive-e2e-images.lock"
BUILD_TIMEOUT = 1800  # seconds per image; a cold build takes well under a minute each here

# The spec's `images:` setting for the e2e stack: fixed tags, no `{version}` (one Debian version each).
IMAGES: dict[str, str] = {
    "python": "flashdrive-e2e/python:3.11",          # bookworm's python3 3.11, venv at /usr/local
    "python_build": "flashdrive-e2e/python-build:3.11",  # the same Python + compilers and -dev headers
    "postgres": "flashdrive-e2e/postgres:15",        # postgresql-15, official entrypoint contract
    "mysql": "flashdrive-e2e/mysql:mariadb-10.11",   # mariadb-server 10.11, MYSQL_* contract
    "redis": "flashdrive-e2e/redis:7",               # redis-server 7.0
    "caddy": "flashdrive-e2e/caddy:2",               # caddy 2.6
    # restic 0.14 + rclone + database clients and servers (the restore drill's) + busybox
    "restic": "flashdrive-e2e/restic:0.14-servers",
    "rclone": "flashdrive-e2e/restic:0.14-servers",  # the same image serves `rclone serve restic`
}

# Test infrastructure the e2e fixtures start themselves (not spec keys, never in `images:`).
TEST_IMAGES: dict[str, str] = {
    "pebble": "flashdrive-e2e/pebble:2.4",           # pebble + pebble-challtestsrv 2.4, an ACME CA
    # A database major upgrade (tests/e2e/test_major_upgrade.py): bookworm's 15 → trixie's 17.
    "debian_trixie": "flashdrive-e2e/debian:trixie",  # the bookworm base moved to trixie by apt
    "postgres17": "flashdrive-e2e/postgres:17",      # postgresql-17, the same contract as postgres:15
    "restic_trixie": "flashdrive-e2e/restic:trixie",  # the backup stand-in with pg_dump 17
    # MySQL's (tests/e2e/test_mysql_major_upgrade.py): bookworm's MariaDB 10.11 → trixie's 11.8.
    "mysql_trixie": "flashdrive-e2e/mysql:mariadb-11.8",  # the same MYSQL_* contract as mysql
}


@dataclass(frozen=True)
class Recipe:
    key: str   # the recipe folder's name, and the spec's `images:` key for the stand-ins
    tag: str

    @property
    def folder(self) -> Path:
        return HERE / self.key

    @property
    def parent(self) -> str:
        """The image a Dockerfile recipe is built FROM (the base, or another stand-in)."""
        for line in (self.folder / "Dockerfile").read_text().splitlines():
            if line.upper().startswith("FROM "):
                return line.split()[1]
        raise BuildError(f"{self.folder}/Dockerfile has no FROM line")


# Dependency order: the base first, everything else is built FROM it.
# One recipe per folder; a key that reuses another key's image (rclone) has none.
RECIPES: list[Recipe] = [Recipe("debian", BASE)] + [Recipe(key, tag) for key, tag in {**IMAGES, **TEST_IMAGES}.items()
                                                     if (HERE / key).is_dir()]


class BuildError(RuntimeError):
    """A docker or debootstrap step failed; the message carries its output."""


def _run(args: list[str], *, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)


def engine_answers() -> bool:
    """True when a Docker engine answers (tests/e2e/engine.sh starts one)."""
    if shutil.which("docker") is None:
        return False
    try:
        return _run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def recipe_hash(folder: Path, base_id: str = "") -> str:
    """sha256 of every file in the folder (path, executable bit, bytes) and of the base image id."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(b"x" if os.access(path, os.X_OK) else b"-")
        digest.update(path.read_bytes() + b"\0")
    digest.update(base_id.encode())
    return digest.hexdigest()


def image_id(tag: str) -> str | None:
    result = _run(["docker", "image", "inspect", "--format", "{{.Id}}", tag])
    return result.stdout.strip() if result.returncode == 0 else None


def image_recipe(tag: str) -> str | None:
    """The recipe hash an existing image was built from, or None when the image is missing."""
    result = _run(["docker", "image", "inspect", "--format", f'{{{{ index .Config.Labels "{LABEL}" }}}}', tag])
    return result.stdout.strip() if result.returncode == 0 else None


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _build_base(recipe: Recipe, sha: str) -> None:
    """debootstrap a root filesystem, then `docker import` it with the recipe label."""
    if os.geteuid() != 0:
        raise BuildError("building the base image needs root (debootstrap)")
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is missing: run tests/e2e/engine.sh (it installs it)")
    # /var/tmp: on the disk, not a tmpfs; the root filesystem is about 200 MB.
    work = Path(tempfile.mkdtemp(prefix="flashdrive-e2e-rootfs.", dir="/var/tmp"))
    try:
        root = work / "root"
        result = _run(["sh", str(recipe.folder / "rootfs.sh"), str(root)], timeout=BUILD_TIMEOUT)
        if result.returncode != 0:
            raise BuildError(f"debootstrap for {recipe.tag} failed:\n{_tail(result.stdout + result.stderr)}")
        # Dockerfile instructions applied on import, kept in the recipe folder so the hash covers them.
        changes = [f"LABEL {LABEL}={sha}"] + [line for line in (recipe.folder / "import-changes").read_text().splitlines()
                                              if line.strip() and not line.startswith("#")]
        # --numeric-owner: ids, not the host's names, are what the image must keep.
        tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(root), "-cf", "-", "."],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        imported = subprocess.run(["docker", "import", *(a for c in changes for a in ("--change", c)), "-", recipe.tag],
                                  stdin=tar.stdout, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
        tar.stdout.close()
        tar_err = tar.stderr.read().decode(errors="replace")
        if tar.wait() != 0 or imported.returncode != 0:
            raise BuildError(f"docker import of {recipe.tag} failed:\n{_tail(tar_err + imported.stdout + imported.stderr)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _build_dockerfile(recipe: Recipe, sha: str) -> None:
    # The classic builder: the CLI here has no buildx plugin, and these recipes need nothing more.
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    result = _run(["docker", "build", "--force-rm", "--label", f"{LABEL}={sha}", "-t", recipe.tag, str(recipe.folder)],
                  timeout=BUILD_TIMEOUT, env=env)
    if result.returncode != 0:
        raise BuildError(f"docker build of {recipe.tag} failed:\n{_tail(result.stdout + result.stderr)}")


def _ensure(recipe: Recipe, base_id: str, force: bool, log) -> str | None:
    """Build one image unless its label says it is current; returns the id of the image it replaced."""
    sha = recipe_hash(recipe.folder, base_id)
    if not force and image_recipe(recipe.tag) == sha:
        log(f"{recipe.tag}: cached")
        return None
    previous = image_id(recipe.tag)
    started = time.monotonic()
    (_build_base if recipe.key == "debian" else _build_dockerfile)(recipe, sha)
    log(f"{recipe.tag}: built in {time.monotonic() - started:.0f}s")
    return previous if previous != image_id(recipe.tag) else None


def build_all(*, force: bool = False, jobs: int = 2, log=print) -> dict[str, str]:
    """Make every stand-in present and current; returns IMAGES ({spec images key: tag})."""
    if not engine_answers():
        raise BuildError("no Docker engine answers: run tests/e2e/engine.sh first")
    LOCK.touch(exist_ok=True)
    with LOCK.open() as lock:
        # One builder at a time on a machine: two pytest runs must not build the same tags at once.
        fcntl.flock(lock, fcntl.LOCK_EX)
        base, *rest = RECIPES
        replaced = [_ensure(base, "", force, log)]
        built = {base.tag}
        # In waves: each image once the one it is built FROM is current (its id is in the hash).
        # The images of a wave are independent: two builds at once overlap one's downloads with
        # the other's unpacking (2 cores here).
        while rest:
            wave = [r for r in rest if r.parent in built]
            if not wave:
                raise BuildError(f"no recipe builds {', '.join(sorted({r.parent for r in rest}))}")
            parents = {r.parent: image_id(r.parent) for r in wave}
            for tag, found in parents.items():
                if found is None:
                    raise BuildError(f"{tag} is missing after its build")
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                replaced += pool.map(lambda r, ids=parents: _ensure(r, ids[r.parent] or "", force, log), wave)
            built |= {r.tag for r in wave}
            rest = [r for r in rest if r not in wave]
        # Images replaced by a rebuild lost their tag: drop them, the old base last (its children
        # first). Docker refuses while a container or another image uses one, which is fine. Not
        # `image prune --filter label=...`: images built FROM ours inherit the label.
        for previous in reversed([p for p in replaced if p]):
            _run(["docker", "image", "rm", previous], timeout=300)
    return dict(IMAGES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when the recipe label matches")
    parser.add_argument("--jobs", type=int, default=2, help="images built at once on top of the base (default 2)")
    parser.add_argument("--json", action="store_true", help="print the IMAGES mapping as JSON at the end")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        images = build_all(force=args.force, jobs=args.jobs, log=lambda line: print(line, flush=True))
    except BuildError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 1
    print(f"all images ready in {time.monotonic() - started:.1f}s")
    if args.json:
        print(json.dumps(images, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
