"""Reading the app's own files. Anything unreadable becomes a BuildpackError at the file, never a traceback."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from flashdrive.bounded import MIB, os_reason, read_bounded
from flashdrive.buildpack.errors import BuildpackError

MAX_SOURCE_FILE_BYTES = 32 * MIB  # the largest lock files of real apps are a few MB


def read_text(path: Path) -> str:
    """The file's text, without a UTF-8 byte-order mark, with newlines normalised."""
    try:
        raw = read_bounded(path, MAX_SOURCE_FILE_BYTES)
    except IsADirectoryError:
        raise BuildpackError(
            f"{path.name} is a directory, but it must be a file",
            hint=f"replace the directory {path} with a file",
            file=path,
        ) from None
    except (OSError, ValueError) as exc:
        raise BuildpackError(f"cannot read {path.name}: {os_reason(exc)}", file=path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BuildpackError(
            f"{path.name} is not UTF-8 text (byte {exc.start})",
            hint=f"save {path.name} as UTF-8",
            file=path,
            line=line,
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_toml(path: Path) -> dict[str, Any]:
    text = read_text(path)
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise BuildpackError(f"{path.name} nests too deeply", hint=f"fix {path.name}", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        where = _TOML_POSITION.search(str(exc))
        reason = _TOML_POSITION.sub("", str(exc)).strip()
        raise BuildpackError(
            f"{path.name} is not valid TOML: {reason}",
            hint=f"fix the syntax of {path.name} (regenerate it with its tool if it is a lock file)",
            file=path,
            line=int(where.group(1)) if where else None,
            col=int(where.group(2)) if where else None,
        ) from None


def load_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except RecursionError:
        raise BuildpackError(
            f"{path.name} nests too deeply to be a lock file", hint=f"regenerate {path.name} with its tool", file=path
        ) from None
    except json.JSONDecodeError as exc:
        raise BuildpackError(
            f"{path.name} is not valid JSON: {exc.msg}",
            hint=f"fix the syntax of {path.name} (regenerate it with its tool if it is a lock file)",
            file=path,
            line=exc.lineno,
            col=exc.colno,
        ) from None


def position_of(text: str, needle: str) -> tuple[int | None, int | None]:
    """1-based (line, column) of the first occurrence of `needle`, to point errors at a key in JSON or TOML."""
    index = text.find(needle)
    if index < 0:
        return None, None
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def line_of(text: str, needle: str) -> int | None:
    return position_of(text, needle)[0]
