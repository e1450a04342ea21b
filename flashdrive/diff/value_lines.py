"""How a changed input reads: a short summary for a table cell, and -/+ lines for the details.

Values come from plans, so secrets are already "[secret]"; nothing here can reveal one.
Lists whose items carry a natural key (env entries by NAME, labels by label, networks by name,
uploads by file, volumes by container path, ports by internal port) are compared item by item.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from msgspec import Struct

from flashdrive.diff.changes import MISSING, InputChange

_ENV = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
_ITEM_KEYS = ("label", "name", "file", "containerPath", "internal")
VALUE_WIDTH = 120
MAX_TEXT_DIFF_LINES = 40


class Line(Struct, frozen=True):
    sign: str  # "-", "+" or " " (context / header)
    text: str


def _show(value: Any, width: int = VALUE_WIDTH) -> str:
    if value is MISSING:
        return "(absent)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."


def _keyed(items: list) -> tuple[str, dict[str, Any]] | None:
    """A list as {item key: item} when every item has the same unique natural key."""
    if items and all(isinstance(i, str) and _ENV.match(i) for i in items):
        pairs = [(match.group(1), match.group(2)) for i in items if (match := _ENV.match(i))]
        names = [name for name, _ in pairs]
        if len(set(names)) == len(names):
            return "env", dict(pairs)
    if items and all(isinstance(i, dict) for i in items):
        for field in _ITEM_KEYS:
            keys = [i.get(field) for i in items]
            if all(isinstance(k, (str, int)) for k in keys) and len(set(keys)) == len(keys):
                return field, {str(k): i for k, i in zip(keys, items, strict=True)}
    return None


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Leaf path → value. Dicts and keyed lists are opened; plain lists stay whole."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list):
        keyed = _keyed(value)
        if keyed is not None:
            kind, items = keyed
            out = {}
            for key, item in items.items():
                if kind == "env":
                    out[f"{path}[{key}]"] = item
                else:
                    inner: Any = {k: v for k, v in item.items() if k != kind}
                    if len(inner) == 1:  # {label, value}: the value is the item
                        inner = next(iter(inner.values()))
                    sub = flatten(inner, f"{path}[{key}]")
                    out.update(sub or {f"{path}[{key}]": item})
            return out
    return {path: value}


def _is_env(change: InputChange) -> bool:
    return change.key == "envs"


def _empty(value: Any) -> bool:
    return value is MISSING or value == [] or value == {}


def _changed_leaves(change: InputChange) -> list[tuple[str, Any, Any]]:
    """(path, before, after) of every leaf that differs; an empty list or map standing for "no
    items" is left out when the other side has items (their own leaves say it)."""
    before = flatten(change.before, change.key) if change.before is not MISSING else {}
    after = flatten(change.after, change.key) if change.after is not MISSING else {}
    leaves = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path, MISSING), after.get(path, MISSING)
        if old == new:
            continue
        if _empty(old) and _empty(new) and len(before) + len(after) > 1:
            continue
        leaves.append((path, old, new))
    return leaves


def _secret_leaves(change: InputChange) -> list[str]:
    after = flatten(change.after, change.key) if change.after is not MISSING else {}
    names = []
    for path, value in after.items():
        if isinstance(value, str) and "[secret]" in value:
            names.append(path[len(change.key) + 1 : -1] if change.key == "envs" and path.startswith("envs[") else path)
    return names


def _hidden_note(change: InputChange) -> str:
    sources = ", ".join(change.hidden_by)
    secrets = ", ".join(_secret_leaves(change)) or change.key
    verb = "is" if len(change.hidden_by) == 1 else "are"
    return f"secret values ({secrets}) may change: they depend on {sources}, which {verb} new or replaced"


def lines(change: InputChange) -> list[Line]:
    """-/+ lines of one changed input, leaf by leaf (multi-line text as a unified diff)."""
    out: list[Line] = []
    if change.hidden_by:
        out.append(Line("~", f"{change.key}: {_hidden_note(change)}"))
    env = _is_env(change)

    def label(path: str, value: Any) -> str:
        if env and path.startswith("envs["):
            return f"{path[5:-1]}={_show(value)}"
        return f"{path}: {_show(value)}"

    for path, old, new in _changed_leaves(change):
        if isinstance(old, str) and isinstance(new, str) and ("\n" in old or "\n" in new):
            out.append(Line(" ", f"{path}:"))
            diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1))[2:]
            for index, text in enumerate(diff[:MAX_TEXT_DIFF_LINES]):
                if text.startswith("@@"):
                    if index:
                        out.append(Line(" ", "  ..."))
                else:
                    out.append(Line(text[:1] if text[:1] in "+-" else " ", "  " + text[1:]))
            if len(diff) > MAX_TEXT_DIFF_LINES:
                out.append(Line(" ", f"  ... {len(diff) - MAX_TEXT_DIFF_LINES} more lines"))
            continue
        if old is not MISSING:
            out.append(Line("-", label(path, old)))
        if new is not MISSING:
            out.append(Line("+", label(path, new)))
    return out


def summary(change: InputChange, limit: int = 4) -> str:
    """One short phrase: `memory: 512 → 1024`, `envs: LOG_LEVEL changed, SENTRY_DSN added`."""
    scalar = (str, int, float, bool, type(None))
    old, new = change.before, change.after
    if change.hidden_by and old == new:
        return f"{change.key}: {_hidden_note(change)}"
    if (
        (old is MISSING or isinstance(old, scalar))
        and (new is MISSING or isinstance(new, scalar))
        and "\n" not in f"{old}{new}"
    ):
        return f"{change.key}: {_show(old, 40)} → {_show(new, 40)}"
    found: dict[str, str] = {}  # item or sub-key → added | removed | changed
    prefix = change.key + "["
    for path, before, after in _changed_leaves(change):
        what = "added" if before is MISSING else "removed" if after is MISSING else "changed"
        short = path[len(prefix) :].split("]", 1)[0] if path.startswith(prefix) else path[len(change.key) + 1 :] or path
        found[short] = what if found.get(short, what) == what else "changed"
    parts = [f"{short} {what}" for short, what in found.items()]
    if not parts:
        return f"{change.key} changed"
    shown = ", ".join(parts[:limit]) + (f", {len(parts) - limit} more" if len(parts) > limit else "")
    return f"{change.key}: {shown}"
