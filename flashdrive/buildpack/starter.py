"""`flashdrive init`: a starter flashdrive.yaml from what detection found in an app folder."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from msgspec import Struct

from flashdrive.buildpack.app_json import AppJson
from flashdrive.buildpack.detection import Detection
from flashdrive.buildpack.procfile import runs_gunicorn

# The schema file init writes beside the spec: an editor resolves a relative $schema offline.
SCHEMA_FILE = "flashdrive.schema.json"
SCHEMA_COMMENT = f"# yaml-language-server: $schema=./{SCHEMA_FILE}"
# Packages that mean the app talks to a database (django-heroku requires psycopg2 and DATABASE_URL).
POSTGRES_DRIVERS = frozenset({"psycopg", "psycopg-binary", "psycopg2", "psycopg2-binary", "django-heroku"})
MYSQL_PACKAGES = frozenset({"mysqlclient", "pymysql", "mysql-connector-python", "django-mysql"})
REDIS_PACKAGES = frozenset({"redis", "celery", "django-redis", "rq", "django-rq"})
MONGODB_PACKAGES = frozenset({"pymongo", "mongoengine", "motor", "djongo"})
DEFAULT_NAMES = {"postgres": "postgres", "mysql": "mysql", "redis": "cache", "mongodb": "mongo"}
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


def stack_name_for_folder(app_dir: Path, cwd: Path) -> str:
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


class StarterDatabase(Struct, frozen=True):
    name: str
    engine: str
    variable: str  # the env var its URL is wired to
    reason: str  # "app.json add-on heroku-postgresql" / "dependency psycopg2"


def _databases(detection: Detection, app_json: AppJson | None) -> list[StarterDatabase]:
    """Databases from app.json's add-ons first, then those the dependencies imply (one per engine)."""
    found: list[StarterDatabase] = []
    names: set[str] = set()

    def add(engine: str, variable: str, reason: str, wanted: str | None = None) -> None:
        sql = engine in ("postgres", "mysql")
        base = wanted or (
            "main" if sql and not any(d.engine in ("postgres", "mysql") for d in found) else DEFAULT_NAMES[engine]
        )
        name, counter = base, 2
        while name in names:
            name, counter = f"{base}-{counter}", counter + 1
        names.add(name)
        found.append(StarterDatabase(name, engine, variable, reason))

    for attachment, addon in app_json.addons if app_json else []:
        wanted = dns_label(attachment, fallback=DEFAULT_NAMES[addon.engine]) if attachment else None
        add(addon.engine, addon.variable, f"app.json add-on for {addon.variable}", wanted)
    deps = detection.dependencies
    mysql_driver = sorted(deps & MYSQL_PACKAGES)
    postgres_driver = sorted(deps & (POSTGRES_DRIVERS | ({"dj-database-url"} if not mysql_driver else set())))
    implied = [
        ("postgres", postgres_driver),
        ("mysql", mysql_driver),
        ("redis", sorted(deps & REDIS_PACKAGES)),
        ("mongodb", sorted(deps & MONGODB_PACKAGES)),
    ]
    for engine, packages in implied:
        if not packages or any(d.engine == engine for d in found):
            continue
        if engine in ("postgres", "mysql"):
            variable = (
                "DATABASE_URL" if not any(d.variable == "DATABASE_URL" for d in found) else f"{engine.upper()}_URL"
            )
        else:
            variable = {"redis": "REDIS_URL", "mongodb": "MONGODB_URI"}[engine]
        add(engine, variable, f"the dependency {packages[0]}")
    return found


def render_starter(detection: Detection, *, source: str, stack: str, app_json: AppJson | None = None) -> str:
    databases = _databases(detection, app_json)
    env: list[str] = []
    wired = {d.variable for d in databases}
    if detection.django is not None and not (app_json and app_json.generates_secret):
        env.append("SECRET_KEY: {generate: secret, length: 50}")
    for entry in app_json.env if app_json else []:
        if entry.name in wired:
            continue
        if entry.value is None:
            env.append(f"# {entry.name}: {entry.comment}")
        else:
            env.append(f"{entry.name}: {entry.value}" + (f"  # {entry.comment}" if entry.comment else ""))
    env += [f"{d.variable}: ${{databases.{d.name}.url}}" for d in databases]

    lines = [
        SCHEMA_COMMENT,
        f"# Written by `flashdrive init` from what the buildpack found in {source}"
        + (" and its app.json" if app_json else "")
        + ". Check it with `flashdrive validate`.",
    ]
    if app_json and app_json.unknown_addons:
        lines.append(
            "# app.json add-ons with no flashdrive equivalent (provision them yourself and set their "
            "variables in env): " + ", ".join(app_json.unknown_addons)
        )
    if app_json and app_json.postdeploy:
        lines.append(
            f"# app.json runs `{app_json.postdeploy}` once after the first deploy (scripts.postdeploy); "
            "flashdrive has no one-time hook: run it yourself once the stack is up."
        )
    lines += ["version: 1", f"stack: {stack}", "backend: docker", "", "apps:"]
    apps = _apps(detection)
    formation = app_json.formation if app_json else {}
    for index, (name, kind, process) in enumerate(apps):
        lines += [f"  {name}:", f"    source: {_scalar(source)}", f"    type: {kind}"]
        if process != kind:
            lines.append(f"    process: {_scalar(process)}")
        if kind == "web":
            lines.append("    port: 8000")
        scale = formation.get(process)
        if scale is not None:
            note = f"  # from app.json's formation: {scale.note}" if scale.note else "  # from app.json's formation"
            if scale.size is not None:
                lines.append(f"    size: {scale.size}{note}")
            if scale.nodes is not None:
                lines.append(f"    nodes: {scale.nodes}" + ("" if scale.size is not None else note))
        if index == 0:
            if detection.release is not None:
                lines.append(f"    # release: the Procfile's `{detection.release}` runs before each deploy")
            elif detection.django is not None:
                lines.append(
                    "    # release: python manage.py migrate --noinput   # uncomment to migrate on each deploy"
                )
        if env:
            lines.append("    env:")
            if index > 0 and (detection.django is not None or (app_json and app_json.generates_secret)):
                lines.append(
                    "      # Each app generates its own secrets; if they must share one, use {config: ...} in both."
                )
            lines += [f"      {entry}" for entry in env]
    if databases:
        lines += ["", "databases:"]
        for database in databases:
            lines += [f"  {database.name}:  # {database.reason}", f"    engine: {database.engine}"]
    return "\n".join(lines) + "\n"


def summary(detection: Detection, *, stack: str, app_json: AppJson | None = None) -> str:
    apps = ", ".join(f"{name} ({kind})" for name, kind, _ in _apps(detection))
    databases = [f"{d.name} ({d.engine})" for d in _databases(detection, app_json)]
    text = f"stack '{stack}', apps {apps}"
    text += f", databases {', '.join(databases)}" if databases else ""
    if app_json and app_json.unknown_addons:
        text += f"; add-ons without an equivalent: {', '.join(app_json.unknown_addons)}"
    if app_json and app_json.postdeploy:
        text += f"; app.json's postdeploy `{app_json.postdeploy}` is yours to run once"
    return text
