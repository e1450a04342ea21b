"""Which Python the app runs on: runtime.txt, then .python-version, then Pipfile.lock, else the default."""

from __future__ import annotations

import re
from pathlib import Path

from msgspec import Struct

from flashdrive.buildpack.errors import BuildpackError
from flashdrive.buildpack.sources import load_json, position_of, read_text

# The documented default. Apps should pin their own version; this one moves with new releases.
DEFAULT_PYTHON_VERSION = "3.13"
SUPPORTED_PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
_SUPPORTED_RANGE = f"{SUPPORTED_PYTHON_VERSIONS[0]} to {SUPPORTED_PYTHON_VERSIONS[-1]}"

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_LOOSE_VERSION = re.compile(r"(\d+)\.(\d+)")


class PythonVersion(Struct, frozen=True):
    version: str  # X.Y, what the base image tag uses
    full_version: str | None  # X.Y.Z when a file pinned the patch release
    source: str  # "runtime.txt" | ".python-version" | "Pipfile.lock" | "default"


def detect_python_version(app_dir: Path) -> tuple[PythonVersion, list[str]]:
    """The app's Python version and any warnings about how it was chosen."""
    warnings: list[str] = []
    runtime_txt, python_version_file = app_dir / "runtime.txt", app_dir / ".python-version"
    if runtime_txt.is_file():
        chosen = _from_runtime_txt(runtime_txt)
        if python_version_file.is_file():
            try:
                other = _from_python_version_file(python_version_file)
            except BuildpackError:
                other = None  # only runtime.txt counts; a broken second file is not this build's problem
            if other is not None and other.version != chosen.version:
                warnings.append(
                    f"runtime.txt asks for Python {chosen.version} but .python-version asks for "
                    f"{other.version}; runtime.txt wins. Delete one of them so they cannot disagree."
                )
        return chosen, warnings
    if python_version_file.is_file():
        return _from_python_version_file(python_version_file), warnings
    pipfile_lock = app_dir / "Pipfile.lock"
    if pipfile_lock.is_file():
        found = _from_pipfile_lock(pipfile_lock)
        if found is not None:
            return found, warnings
    warnings.append(
        f"no Python version is pinned, so the default {DEFAULT_PYTHON_VERSION} is used and will change "
        f"in a later flashdrive release; pin it with a .python-version file containing {DEFAULT_PYTHON_VERSION}."
    )
    return PythonVersion(DEFAULT_PYTHON_VERSION, None, "default"), warnings


def _content_lines(path: Path, *, comments: bool) -> list[tuple[int, str]]:
    lines = []
    for number, raw in enumerate(read_text(path).split("\n"), start=1):
        line = raw.strip()
        if not line or (comments and line.startswith("#")):
            continue
        lines.append((number, line))
    return lines


def _single_line(path: Path, *, comments: bool, example: str) -> tuple[int, str]:
    lines = _content_lines(path, comments=comments)
    if not lines:
        raise BuildpackError(
            f"{path.name} is empty, so it names no Python version",
            hint=f"write `{example}` in {path.name}, or delete the file to use the default {DEFAULT_PYTHON_VERSION}",
            file=path,
        )
    if len(lines) > 1:
        (first_line, first), (line, second) = lines[0], lines[1]
        raise BuildpackError(
            f"{path.name} names several Python versions ('{first}' on line {first_line}, '{second}' here); "
            "it must name exactly one",
            hint=f"keep only one line, e.g. `{example}`",
            file=path,
            line=line,
        )
    return lines[0]


def _guess(text: str) -> str:
    loose = _LOOSE_VERSION.search(text)
    if loose and f"{loose.group(1)}.{loose.group(2)}" in SUPPORTED_PYTHON_VERSIONS:
        return f"{loose.group(1)}.{loose.group(2)}"
    return DEFAULT_PYTHON_VERSION


def _checked(text: str, *, path: Path, line: int | None, col: int, fix: str) -> PythonVersion:
    """`text` is an X.Y or X.Y.Z version; refuse anything flashdrive cannot build.

    `line` is None when the version's spot in the file is not known (a key written with escapes in JSON)."""
    match = _VERSION.match(text)
    assert match is not None
    version = f"{int(match.group(1))}.{int(match.group(2))}"
    if version not in SUPPORTED_PYTHON_VERSIONS:
        why = (
            "reached end of life"
            if (int(match.group(1)), int(match.group(2))) < (3, 10)
            else "is not released or not supported yet"
        )
        raise BuildpackError(
            f"Python {text} (from {path.name}) {why}; flashdrive builds Python {_SUPPORTED_RANGE}",
            hint=fix.format(version=DEFAULT_PYTHON_VERSION),
            file=path,
            line=line,
            col=col,
        )
    full = text if match.group(3) is not None else None
    return PythonVersion(version, full, path.name)


def _from_runtime_txt(path: Path) -> PythonVersion:
    line, text = _single_line(path, comments=False, example=f"python-{DEFAULT_PYTHON_VERSION}")
    if not text.startswith("python-") or not _VERSION.match(text[len("python-") :]):
        raise BuildpackError(
            f"runtime.txt contains '{text}', which is not a Python version; runtime.txt holds one line like "
            f"`python-{DEFAULT_PYTHON_VERSION}`",
            hint=f"replace it with `python-{_guess(text)}`",
            file=path,
            line=line,
        )
    return _checked(
        text[len("python-") :],
        path=path,
        line=line,
        col=len("python-") + 1,
        fix="write `python-{version}` in runtime.txt (any of " + _SUPPORTED_RANGE + " works)",
    )


def _from_python_version_file(path: Path) -> PythonVersion:
    line, text = _single_line(path, comments=True, example=DEFAULT_PYTHON_VERSION)
    if not _VERSION.match(text):
        raise BuildpackError(
            f".python-version contains '{text}', which is not a CPython version; it must be X.Y or X.Y.Z",
            hint=f"replace it with `{_guess(text)}`",
            file=path,
            line=line,
        )
    return _checked(
        text,
        path=path,
        line=line,
        col=1,
        fix="write `{version}` in .python-version (any of " + _SUPPORTED_RANGE + " works)",
    )


def _from_pipfile_lock(path: Path) -> PythonVersion | None:
    data = load_json(path)
    requires = data.get("_meta", {}).get("requires", {}) if isinstance(data, dict) else {}
    if not isinstance(requires, dict):
        return None
    text = read_text(path)
    for key in ("python_full_version", "python_version"):
        value = requires.get(key)
        if value is None:
            continue
        line, col = position_of(text, f'"{key}"')
        if not isinstance(value, str) or not _VERSION.match(value.strip()):
            raise BuildpackError(
                f"Pipfile.lock has {key} {value!r}, which is not a Python version",
                hint=f'set python_version = "{DEFAULT_PYTHON_VERSION}" under [requires] in Pipfile, then run `pipenv lock`',
                file=path,
                line=line,
                col=col,
            )
        return _checked(
            value.strip(),
            path=path,
            line=line,
            col=col or 1,
            fix='set python_version = "{version}" under [requires] in Pipfile, then run `pipenv lock`',
        )
    return None
