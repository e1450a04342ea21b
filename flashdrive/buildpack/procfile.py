"""The Procfile: `name: command` lines, one per process type, plus an optional `release` command."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct

from flashdrive.buildpack.errors import BuildpackError
from flashdrive.buildpack.sources import read_text

if TYPE_CHECKING:
    from flashdrive.buildpack.detection import Detection

MAX_LINE = 64 * 1024  # longer lines are not commands, and parsing them would take minutes
PROCESS_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
RELEASE = "release"


class Procfile(Struct, frozen=True):
    processes: dict[str, str]  # in file order, without release
    release: str | None
    lines: dict[str, int]  # process name (release included) -> its line, for pointing errors at it


def read_procfile(path: Path) -> Procfile:
    return parse_procfile(read_text(path), path)


def parse_procfile(text: str, path: Path) -> Procfile:
    processes: dict[str, str] = {}
    lines: dict[str, int] = {}
    release: str | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        if len(raw) > MAX_LINE:
            raise BuildpackError(
                f"Procfile line {number} is {len(raw)} characters long; a command is never that long",
                hint="put a long command in a script and run the script from the Procfile",
                file=path,
                line=number,
            )
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        name, command = name.strip(), command.strip()
        col = len(raw) - len(raw.lstrip()) + 1
        if not sep or not name:
            words = line.split(None, 1)
            fix = (
                f"`{words[0]}: {words[1]}`"
                if len(words) == 2 and PROCESS_NAME.match(words[0])
                else "`web: gunicorn myproject.wsgi`"
            )
            raise BuildpackError(
                f"Procfile line '{line}' is not a process declaration; each line must be `name: command`",
                hint=f"write it as {fix}",
                file=path,
                line=number,
                col=col,
            )
        if not PROCESS_NAME.match(name):
            suggestion = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "web"
            raise BuildpackError(
                f"Procfile process name '{name}' may only contain letters, digits, '_' and '-'",
                hint=f"rename it, e.g. `{suggestion}: {command or '...'}`",
                file=path,
                line=number,
                col=col,
            )
        if not command:
            raise BuildpackError(
                f"Procfile process '{name}' has no command after the colon",
                hint=f"write the command to run, e.g. `{name}: gunicorn myproject.wsgi`"
                if name == "web"
                else f"write the command to run after `{name}:`",
                file=path,
                line=number,
                col=col + len(name) + 1,
            )
        if name in lines:
            raise BuildpackError(
                f"Procfile declares process '{name}' twice (line {lines[name]} and here); only one can run",
                hint=f"delete one of the two `{name}:` lines",
                file=path,
                line=number,
                col=col,
            )
        lines[name] = number
        if name == RELEASE:
            release = command
        else:
            processes[name] = command
    if not processes:
        raise BuildpackError(
            "Procfile declares no process to run" + (" (only a release command)" if release else ""),
            hint="add a line such as `web: gunicorn myproject.wsgi` or `worker: python worker.py`",
            file=path,
        )
    return Procfile(processes, release, lines)


# Words that run the rest of the command line as another program; `runs_gunicorn` looks through them.
_PREFIX_PROGRAMS = {"exec", "nohup", "time", "command", "ddtrace-run", "opentelemetry-instrument", "tini", "dumb-init"}
_RUNNERS = {"uv", "poetry", "pipenv", "pdm", "hatch", "rye"}  # `X run gunicorn ...`
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
_SHELLS = {"sh", "bash", "dash", "zsh"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _words(command: str) -> list[list[str]]:
    """The simple commands of a shell command line, split on `;`, `&&`, `|` and friends."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: fall back to plain words rather than guess
        tokens = command.split()
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token and all(ch in "();<>|&" for ch in token):
            commands.append([])
        else:
            commands[-1].append(token)
    return [words for words in commands if words]


def runs_gunicorn(command: str) -> bool:
    """Whether a Procfile command starts gunicorn, looking through env prefixes and wrappers.

    Handles `gunicorn ...`, `python -m gunicorn ...`, `exec gunicorn`, `FOO=1 gunicorn`,
    `env FOO=1 gunicorn`, `newrelic-admin run-program gunicorn`, `uv run gunicorn`,
    `sh -c "gunicorn ..."` and any part of `a && b`.
    """
    return any(_simple_runs_gunicorn(words) for words in _words(command))


def _simple_runs_gunicorn(words: list[str]) -> bool:
    i = 0
    while i < len(words):
        word = words[i]
        if _ASSIGNMENT.match(word):
            i += 1
            continue
        program = os.path.basename(word)
        if program in _PREFIX_PROGRAMS:
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 1
            continue
        if program == "env" or program == "nice":
            i += 1
            while i < len(words) and (words[i].startswith("-") or _ASSIGNMENT.match(words[i])):
                i += 2 if words[i] in ("-n", "-u", "-C", "-S") else 1
            continue
        if program == "newrelic-admin" and i + 1 < len(words) and words[i + 1] == "run-program":
            i += 2
            continue
        if program in _RUNNERS and i + 1 < len(words) and words[i + 1] == "run":
            i += 2
            while i < len(words) and words[i].startswith("-"):
                i += 1
            continue
        if program in _SHELLS:
            if "-c" in words[i + 1 :]:
                position = words.index("-c", i + 1)
                return position + 1 < len(words) and runs_gunicorn(words[position + 1])
            return False
        if _PYTHON.match(program):
            if "-m" in words[i + 1 :]:
                position = words.index("-m", i + 1)
                return position + 1 < len(words) and words[position + 1] == "gunicorn"
            return False
        return program == "gunicorn"
    return False


_LEADING_ASSIGNMENTS = re.compile(
    r"""^\s*((?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|"(?:\\.|[^"\\])*"|\\.|[^\s'"\\])*\s+)*)(.*)$""", re.S
)
# Gunicorn listens on 127.0.0.1:8000 unless told otherwise; in a container it must listen on all
# interfaces at the port the platform chose. Flags given in the Procfile still win (argv beats env).
_GUNICORN_BIND = 'export GUNICORN_CMD_ARGS="--bind=0.0.0.0:${PORT:-8000} ${GUNICORN_CMD_ARGS:-}"; '


def shell_command(command: str) -> list[str]:
    """A Procfile command as a container command: run by /bin/sh like Heroku does.

    A simple command is `exec`ed so it becomes PID 1's child directly and receives SIGTERM on stop;
    gunicorn commands also get the bind address through GUNICORN_CMD_ARGS.
    """
    script = command.strip()
    simple = len(_words(script)) == 1 and not re.search(r"[;&|()<>`\n]", script)
    if simple:
        match = _LEADING_ASSIGNMENTS.match(script)
        assert match is not None
        assignments, rest = match.group(1), match.group(2)
        first = rest.split(None, 1)[0] if rest else ""
        if first and first != "exec" and first not in ("if", "for", "while", "case", "{", "!"):
            script = f"{assignments}exec {rest}"
    if runs_gunicorn(command):
        script = _GUNICORN_BIND + script
    return ["/bin/sh", "-c", script]


def procfile_command(detection: Detection, name: str) -> list[str]:
    """The container command for Procfile process `name` (or `release`): `["/bin/sh", "-c", ...]`.

    The backend uses it to run each app's process from the one image; the Dockerfile's CMD is the
    same command for the default process.
    """
    if name == RELEASE:
        if detection.release is None:
            raise KeyError(f"the Procfile of {detection.app_dir} has no release command")
        return shell_command(detection.release)
    if name not in detection.processes:
        known = ", ".join(detection.processes)
        raise KeyError(f"the Procfile of {detection.app_dir} has no process {name!r} (it has: {known})")
    return shell_command(detection.processes[name])


def default_process(processes: dict[str, str]) -> str:
    """The process an image runs when nothing else is asked for: `web` if present, else the first one."""
    return "web" if "web" in processes else next(iter(processes))
