"""Heroku's app.json, read for `flashdrive init`: config vars, add-ons, formation, postdeploy.

What each part becomes:
- `env`: `value` (or a bare string) → a plain value; `generator: secret` → `{generate: secret}`;
  `required` without a value → `{config: <camelCase>}` (set with `pulumi config set --secret`);
  optional without a value → a comment.
- `addons`: the databases Heroku's add-ons provide, wired under the variable Heroku sets
  (heroku-postgresql → DATABASE_URL or `<AS>_URL`, heroku-redis → REDIS_URL, JawsDB → JAWSDB_URL,
  ClearDB → CLEARDB_DATABASE_URL, mLab → MONGODB_URI ...). Others are listed, never dropped silently.
- `formation`: quantity → nodes (1..20), dyno size → the size with the nearest memory.
- `scripts.postdeploy`: noted; flashdrive runs a release command on every deploy, not once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from msgspec import Struct, field

from flashdrive.buildpack.errors import BuildpackError
from flashdrive.buildpack.sources import read_text

APP_JSON = "app.json"


class AddOn(Struct, frozen=True):
    engine: str  # postgres | mysql | redis | mongodb
    variable: str  # the config var Heroku sets to its URL


# Add-on service name (before `:plan`) → what it provides.
ADDONS: dict[str, AddOn] = {
    "heroku-postgresql": AddOn("postgres", "DATABASE_URL"),
    "heroku-redis": AddOn("redis", "REDIS_URL"),
    "rediscloud": AddOn("redis", "REDISCLOUD_URL"),
    "redistogo": AddOn("redis", "REDISTOGO_URL"),
    "jawsdb": AddOn("mysql", "JAWSDB_URL"),
    "jawsdb-maria": AddOn("mysql", "JAWSDB_MARIA_URL"),
    "cleardb": AddOn("mysql", "CLEARDB_DATABASE_URL"),
    "mongolab": AddOn("mongodb", "MONGODB_URI"),
    "ormongo": AddOn("mongodb", "ORMONGO_RS_URL"),
}

# Dyno type → memory in MiB (Heroku's published sizes); mapped to the size with the nearest memory.
DYNO_MEMORY_MIB = {
    "free": 512,
    "eco": 512,
    "hobby": 512,
    "basic": 512,
    "standard-1x": 512,
    "standard-2x": 1024,
    "performance-m": 2560,
    "performance-l": 14336,
    "performance-l-ram": 30720,
    "performance-xl": 63488,
    "performance-2xl": 129024,
    "private-s": 1024,
    "private-m": 2560,
    "private-l": 14336,
    "shield-s": 1024,
    "shield-m": 2560,
    "shield-l": 14336,
}
SIZE_MEMORY_MIB = {"xs": 256, "s": 512, "m": 1024, "l": 2048, "xl": 4096}


class EnvEntry(Struct, frozen=True):
    name: str
    value: str | None  # YAML text of the spec value; None: only a comment
    comment: str | None = None


class Formation(Struct, frozen=True):
    nodes: int | None
    size: str | None
    note: str | None = None  # when the size or quantity had to be adjusted


class AppJson(Struct):
    env: list[EnvEntry] = field(default_factory=list)
    addons: list[tuple[str, AddOn]] = field(default_factory=list)  # (attachment name or "", add-on)
    unknown_addons: list[str] = field(default_factory=list)
    formation: dict[str, Formation] = field(default_factory=dict)  # by process type
    postdeploy: str | None = None
    generates_secret: bool = False


def _camel(name: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name.lower()) if w]
    return (words[0] + "".join(w.capitalize() for w in words[1:])) if words else "value"


def _nearest_size(memory_mib: int) -> str:
    return min(SIZE_MEMORY_MIB, key=lambda size: (abs(SIZE_MEMORY_MIB[size] - memory_mib), -SIZE_MEMORY_MIB[size]))


def read_app_json(app_dir: Path) -> AppJson | None:
    """The app.json of `app_dir`, or None when there is none. Malformed JSON is a BuildpackError."""
    path = app_dir / APP_JSON
    if not path.is_file():
        return None
    text = read_text(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BuildpackError(
            f"app.json is not valid JSON ({exc.msg})",
            hint="fix the JSON syntax, or remove app.json",
            file=path,
            line=exc.lineno,
            col=exc.colno,
        ) from None
    if not isinstance(document, dict):
        raise BuildpackError("app.json must be a JSON object", file=path)
    found = AppJson()
    _read_env(document.get("env"), found)
    _read_addons(document.get("addons"), found)
    _read_formation(document.get("formation"), found)
    scripts = document.get("scripts")
    if isinstance(scripts, dict) and isinstance(scripts.get("postdeploy"), str) and scripts["postdeploy"].strip():
        found.postdeploy = scripts["postdeploy"].strip()
    return found


def _read_env(env: object, found: AppJson) -> None:
    if not isinstance(env, dict):
        return
    for name, entry in env.items():
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            continue
        if isinstance(entry, (str, int, float, bool)) and not isinstance(entry, dict):
            found.env.append(EnvEntry(name, json.dumps(str(entry) if not isinstance(entry, str) else entry)))
            continue
        if not isinstance(entry, dict):
            continue
        description = entry.get("description") if isinstance(entry.get("description"), str) else None
        if entry.get("generator") == "secret":
            # Heroku's generator makes 64 hex characters.
            found.env.append(EnvEntry(name, "{generate: secret, length: 64}", description))
            found.generates_secret = True
        elif "value" in entry and entry["value"] is not None:
            found.env.append(EnvEntry(name, json.dumps(str(entry["value"])), description))
        elif entry.get("required", True):
            key = _camel(name)
            found.env.append(
                EnvEntry(
                    name,
                    f"{{config: {key}}}",
                    f"set it: pulumi config set --secret {key} ...; " + (description or "required"),
                )
            )
        else:
            found.env.append(EnvEntry(name, None, f"optional in app.json, no default: {description or 'not set'}"))


def _read_addons(addons: object, found: AppJson) -> None:
    if not isinstance(addons, list):
        return
    for addon in addons:
        plan, attachment = (
            (addon, "")
            if isinstance(addon, str)
            else ((addon.get("plan"), addon.get("as") or "") if isinstance(addon, dict) else (None, ""))
        )
        if not isinstance(plan, str) or not plan.strip():
            continue
        service = plan.split(":", 1)[0].strip().lower()
        known = ADDONS.get(service)
        if known is None:
            if plan not in found.unknown_addons:
                found.unknown_addons.append(plan)
            continue
        if isinstance(attachment, str) and attachment:
            known = AddOn(known.engine, f"{attachment.upper()}_URL")
        found.addons.append((attachment if isinstance(attachment, str) else "", known))


def _read_formation(formation: object, found: AppJson) -> None:
    if not isinstance(formation, dict):
        return
    for process, entry in formation.items():
        if not isinstance(entry, dict):
            continue
        notes = []
        nodes = entry.get("quantity")
        if isinstance(nodes, bool) or not isinstance(nodes, int):
            nodes = None
        elif nodes < 1 or nodes > 20:
            notes.append(f"quantity {nodes} is outside 1..20")
            nodes = min(max(nodes, 1), 20)
        size = None
        dyno = entry.get("size")
        if isinstance(dyno, str):
            memory = DYNO_MEMORY_MIB.get(dyno.lower())
            if memory is None:
                notes.append(f"dyno size '{dyno}' is unknown; size s assumed")
                size = "s"
            else:
                size = _nearest_size(memory)
                if SIZE_MEMORY_MIB[size] != memory:
                    notes.append(f"a {dyno} dyno has {memory} MiB; size {size} has {SIZE_MEMORY_MIB[size]} MiB")
        found.formation[process] = Formation(nodes, size, "; ".join(notes) or None)
