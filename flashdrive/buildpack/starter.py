"""`flashdrive init`: a starter flashdrive.yaml from what detection found in an app folder."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from flashdrive.buildpack.detect import Detection
from flashdrive.buildpack.procfile import runs_gunicorn

SCHEMA_COMMENT = ("# yaml-language-server: $schema="
                  "https://raw.githubusercontent.com/flashdrive/flashdrive/main/flashdrive.schema.json")
POSTGRES_PACKAGES = frozenset({"psycopg", "psycopg-binary", "psycopg2", "psycopg2-binary", "dj-database-url"})
REDIS_PACKAGES = frozenset({"redis", "celery", "django-redis", "rq", "django-rq"})
# Folder names that say nothing about the project; the stack is then named after the current folder.
_GENERIC_FOLDERS = frozenset({"app", "src", "source", "web", "backend", "server", "code", "site", "django", "api"})
_STACK_MAX = 30
_PLAIN = re.compile(r"^[A-Za-z0-9_./-]+$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def dns_label(name: str, *, fallback: str, max_length: int = 63) -> str:
    """`name` as a DNS label: [a-z][a-z0-9-]*, no trailing '-', at most `max_length` characters."""
    label = re.sub(r"[^a-z0-9]+", "-", name.lower())
    label = re.sub(r"^[^a-z]+", "", label)[:max_length].strip("-")
    return label or fallback


def stack_name(app_dir: Path, cwd: Path) -> str:
    """The app folder's name, or the current folder's when the app folder is called e.g. `app` or `src`."""
    folder = app_dir.resolve().name
    if folder.lower() in _GENERIC_FOLDERS and cwd.resolve() != app_dir.resolve():
        folder = cwd.resolve().name
    return dns_label(folder, fallback="app", max_length=_STACK_MAX)


def source_path(app_dir: Path, cwd: Path) -> str:
    relative = Path(os.path.relpath(app_dir.resolve(), cwd.resolve())).as_posix()
    return relative if relative == "." or relative.startswith("../") else f"./{relative}"


def _scalar(value: str) -> str:
    if _PLAIN.match(value) and value.lower() not in _YAML_WORDS and not re.match(r"^[-+.]?\d", value):
        return value
    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def _apps(detection: Detection) -> list[tuple[str, str, str]]:
    """(app name, type, Procfile process) for each process; web if it is `web` or runs gunicorn."""
    apps: list[tuple[str, str, str]] = []
    used: set[str] = set()
    for process, command in detection.processes.items():
        kind = "web" if process == "web" or runs_gunicorn(command) else "worker"
        name = base = dns_label(process, fallback=kind)
        counter = 2
        while name in used:
            name, counter = f"{base}-{counter}", counter + 1
        used.add(name)
        apps.append((name, kind, process))
    return apps


def render_starter(detection: Detection, *, source: str, stack: str) -> str:
    deps = detection.dependencies
    postgres = bool(deps & POSTGRES_PACKAGES)
    redis = bool(deps & REDIS_PACKAGES)
    env: list[str] = []
    if detection.django is not None:
        env.append("SECRET_KEY: {generate: secret, length: 50}")
    if postgres:
        env.append("DATABASE_URL: ${databases.main.url}")
    if redis:
        env.append("REDIS_URL: ${databases.cache.url}")

    lines = [
        SCHEMA_COMMENT,
        f"# Written by `flashdrive init` from what the buildpack found in {source}. Check it with `flashdrive validate`.",
        "version: 1",
        f"stack: {stack}",
        "backend: docker",
        "",
        "apps:",
    ]
    apps = _apps(detection)
    for index, (name, kind, process) in enumerate(apps):
        lines += [f"  {name}:", f"    source: {_scalar(source)}", f"    type: {kind}"]
        if process != kind:
            lines.append(f"    process: {_scalar(process)}")
        if kind == "web":
            lines.append("    port: 8000")
        if index == 0:
            if detection.release is not None:
                lines.append(f"    # release: the Procfile's `{detection.release}` runs before each deploy")
            elif detection.django is not None:
                lines.append("    # release: python manage.py migrate --noinput   # uncomment to migrate on each deploy")
        if env:
            lines.append("    env:")
            if index > 0 and detection.django is not None:
                lines.append("      # Each app generates its own SECRET_KEY; if they must share one, use {config: ...} in both.")
            lines += [f"      {entry}" for entry in env]
    if postgres or redis:
        lines += ["", "databases:"]
        if postgres:
            lines += ["  main:", "    engine: postgres"]
        if redis:
            lines += ["  cache:", "    engine: redis"]
    return "\n".join(lines) + "\n"


def summary(detection: Detection, *, stack: str) -> str:
    apps = ", ".join(f"{name} ({kind})" for name, kind, _ in _apps(detection))
    databases = []
    if detection.dependencies & POSTGRES_PACKAGES:
        databases.append("main (postgres)")
    if detection.dependencies & REDIS_PACKAGES:
        databases.append("cache (redis)")
    text = f"stack '{stack}', apps {apps}"
    return text + (f", databases {', '.join(databases)}" if databases else "")
