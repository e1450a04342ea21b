"""Load flashdrive.yaml (and an optional overlay) into a validated Spec, or a list of problems.

YAML → positions → overlay merge → pydantic → cross-field rules. Every problem carries the
file, line and column of the node it is about; all problems are collected, not the first.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydantic
from msgspec import Struct, field
from pydantic_core import ErrorDetails

from flashdrive.problems import InputError, Problem, Problems
from flashdrive.spec.contract import TAG_PREFIX, Spec
from flashdrive.spec.yamlpos import Document, Pos, load_yaml_file


class LoadedSpec(Struct):
    """A spec that passed validation, with what the backends need beside it."""

    spec: Spec
    file: Path
    base_dir: Path
    document: Document
    warnings: list[Problem] = field(default_factory=list)

    def source_dir(self, app_name: str) -> Path:
        source = self.spec.apps[app_name].source
        assert source is not None
        return (self.base_dir / source).resolve()


def format_path(path: tuple) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


# --- overlays ---------------------------------------------------------------------------


def merge(base: Any, base_pos: Pos, over: Any, over_pos: Pos) -> tuple[Any, Pos]:
    """Deep merge as SPEC.md says: maps merge by key, lists and scalars replace."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over, over_pos
    # A mapping's Pos has children by key (a list only for sequences, excluded above).
    assert isinstance(base_pos.children, dict) and isinstance(over_pos.children, dict)
    data = dict(base)
    children = dict(base_pos.children)
    for key, value in over.items():
        child_pos = over_pos.children[key]
        if key in data:
            merged, merged_pos = merge(data[key], children[key], value, child_pos)
            merged_pos.key_mark = child_pos.key_mark
            data[key], children[key] = merged, merged_pos
        else:
            data[key], children[key] = value, child_pos
    return data, Pos(base_pos.mark, base_pos.key_mark, children)


# --- pydantic errors → problems ---------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    return Spec.model_json_schema()


def _schema_at(path: tuple) -> list[dict]:
    """The schema nodes that describe the value at `path` (several where a union allows)."""
    root = _schema()
    defs = root.get("$defs", {})

    def expand(node: dict) -> list[dict]:
        if "$ref" in node:
            return expand(defs[node["$ref"].split("/")[-1]])
        options = node.get("anyOf") or node.get("oneOf")
        if options:
            return [n for option in options for n in expand(option)]
        return [node]

    nodes = expand(root)
    for key in path:
        nxt: list[dict] = []
        for node in nodes:
            if isinstance(key, int) and "items" in node:
                nxt += expand(node["items"])
            elif isinstance(key, str) and key in node.get("properties", {}):
                nxt += expand(node["properties"][key])
            elif isinstance(key, str) and isinstance(node.get("additionalProperties"), dict):
                nxt += expand(node["additionalProperties"])
            elif isinstance(key, str) and node.get("patternProperties"):
                nxt += [n for sub in node["patternProperties"].values() for n in expand(sub)]
        nodes = nxt
    return nodes


def known_keys(path: tuple) -> list[str]:
    keys: list[str] = []
    for node in _schema_at(path):
        keys += [k for k in node.get("properties", {}) if k not in keys]
    return keys


def did_you_mean(word: str, choices: list[str]) -> str | None:
    choices = [c for c in choices if c != word]  # never suggest what was written
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not match:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            match = [lowered[word.lower()]]
    return f"did you mean '{match[0]}'?" if match else None


def describe(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the text '{shown}'"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"the date {value.isoformat()}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
    "list_type": "a list (lines starting with '- ')",
    "float_type": "a number",
}


def _translate(error: ErrorDetails, doc: Document) -> Problem:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith(TAG_PREFIX)))
    kind = error["type"]
    value = error.get("input")
    key_error = bool(loc) and loc[-1] == "[key]"
    if key_error:
        loc = loc[:-1]
    pos, missing = doc.find(loc)
    path = format_path(loc)
    hint = None

    if kind == "missing":
        name = loc[-1]
        mark = pos.mark
        message = f"required key '{name}' is missing"
        example = {
            "version": "version: 1",
            "stack": "stack: shop",
            "engine": "engine: postgres",
            "name": "name: media",
            "mount": "mount: /app/media",
            "size_gb": "size_gb: 1",
            "from": "from: backups",
        }.get(str(name))
        hint = f"add `{example}`" if example else f"add `{name}: ...`"
        return Problem(message, mark, path, hint)
    if kind == "extra_forbidden":
        name = loc[-1]
        mark = pos.key_mark or pos.mark
        choices = known_keys(loc[:-1])
        if name in choices:
            # Valid in another form of a union ({generate} vs {config}, {volume} vs {s3}).
            parent = doc.find(loc[:-1])[0].children
            siblings = [k for k in (parent if isinstance(parent, dict) else {}) if k != name and k in choices]
            return Problem(
                f"'{name}' cannot be combined with {', '.join(repr(k) for k in siblings)}",
                mark,
                path,
                "these are different forms of the same setting: keep one of them",
            )
        message = f"unknown key '{name}'"
        hint = did_you_mean(str(name), choices) or (f"known keys here: {', '.join(choices)}" if choices else None)
        return Problem(message, mark, path, hint)

    mark = (pos.key_mark or pos.mark) if key_error else pos.mark
    found = describe(value)
    if key_error:
        message = f"'{loc[-1]}' is not a valid name"
        pattern = (error.get("ctx") or {}).get("pattern", "")
        if "A-Z" in pattern:
            hint = "env names use letters, digits and '_' and do not start with a digit"
        else:
            hint = f"use lowercase letters, digits and '-', starting with a letter, e.g. '{_as_label(str(loc[-1]))}'"
        if kind == "string_too_long":
            message = f"'{loc[-1]}' is longer than {error['ctx']['max_length']} characters"
            hint = None
        return Problem(message, mark, path, hint)
    if kind in _TYPE_WORDS:
        message = f"expected {_TYPE_WORDS[kind]}, found {found}"
        if isinstance(value, str) and kind.startswith("int"):
            hint = f"write the number without quotes: {loc[-1]}: {value.strip()}"
        elif isinstance(value, str) and kind.startswith("bool"):
            hint = "write true or false without quotes"
        return Problem(message, mark, path, hint)
    if kind == "literal_error":
        expected = error["ctx"]["expected"]
        message = f"{found} is not one of {expected}"
        options = [o.strip(" '") for o in expected.replace(" or ", ", ").split(",")]
        if isinstance(value, str) and value in options:
            hint = f"write it without quotes: {loc[-1]}: {value}"
        elif isinstance(value, str):
            hint = did_you_mean(value, options)
        return Problem(message, mark, path, hint)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        ctx = error["ctx"]
        bound = next(iter(ctx.values()))
        word = {
            "greater_than_equal": "at least",
            "less_than_equal": "at most",
            "greater_than": "more than",
            "less_than": "less than",
        }[kind]
        return Problem(f"{found} is out of range: it must be {word} {bound}", mark, path)
    if kind == "string_pattern_mismatch":
        text = str(value)
        if path == "stack" or loc[-1] in ("name", "volume", "namespace"):
            return Problem(
                f"'{text}' is not a valid name: use lowercase letters, digits and '-', starting with a letter",
                mark,
                path,
                f"e.g. '{_as_label(text)}'",
            )
        if loc[-1] == "version":
            return Problem(f"'{text}' is not a version", mark, path, 'write the version number, e.g. version: "16"')
        return Problem(f"'{text}' has the wrong form", mark, path)
    if kind == "string_too_long":
        return Problem(f"'{value}' is longer than {error['ctx']['max_length']} characters", mark, path)
    if kind == "string_too_short":
        return Problem("must not be empty", mark, path)
    if kind == "value_error":
        text = str(error["ctx"]["error"])
        message, _, fix = text.partition("; ")
        return Problem(message, mark, path, fix or None)
    if kind in ("env_value", "domain", "health_check", "release", "backup_target"):
        if value is None:
            return Problem(
                "has no value",
                mark,
                path,
                'write "" for an empty string' if kind == "env_value" else "give it a value or remove the key",
            )
        if kind == "env_value" and isinstance(value, dict):
            return Problem(
                f"a mapping with keys {', '.join(map(str, value)) or '(none)'} is not an env value",
                mark,
                path,
                "use {generate: secret}, {config: KEY} or {value: ..., scope: run}",
            )
        if kind == "release" and value is True:
            return Problem(
                "release: true names no command",
                mark,
                path,
                "write the command, e.g. release: python manage.py migrate --noinput, or false to run none",
            )
        return Problem(f"found {found}: {error['msg']}", mark, path)
    return Problem(f"{error['msg']} (found {found})", mark, path)


def _as_label(text: str) -> str:
    label = "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
    while "--" in label:
        label = label.replace("--", "-")
    if not label or not label[0].isalpha():
        label = "x-" + label
    return label[:30].rstrip("-")


# --- the pipeline -----------------------------------------------------------------------

_TYPED_SCALARS = (bool, int, float, datetime.date)


def _pos_at(pos: Pos, *path: Any) -> Pos:
    """The position of the value at `path` under `pos`. child() is None only for keys absent from
    the file; every key and item read from the file has one."""
    for key in path:
        child = pos.child(key)
        if child is None:
            raise LookupError(f"no position recorded for {format_path(path)}, which was read from the file")
        pos = child
    return pos


def _stringify_scalars(data: Any, pos: Pos) -> None:
    """Env values and versions are text: take numbers and booleans as written (YAML 1.1 turns
    `0755` into 493 and `10.10` into 10.1)."""
    if not isinstance(data, dict):
        return
    if isinstance(data.get("databases"), dict):
        for db_name, db in data["databases"].items():
            version_pos = _pos_at(pos, "databases", db_name).child("version") if isinstance(db, dict) else None
            if version_pos is not None and isinstance(db["version"], _TYPED_SCALARS) and version_pos.raw is not None:
                db["version"] = version_pos.raw
    if not isinstance(data.get("apps"), dict):
        return
    for app_name, app in data["apps"].items():
        env = app.get("env") if isinstance(app, dict) else None
        if not isinstance(env, dict):
            continue
        env_pos = _pos_at(pos, "apps", app_name, "env")
        for name, value in env.items():
            value_pos = env_pos.child(name)
            if isinstance(value, dict) and "value" in value and value_pos is not None:
                inner = value["value"]
                inner_pos = value_pos.child("value")
                if isinstance(inner, _TYPED_SCALARS) and inner_pos and inner_pos.raw is not None:
                    value["value"] = inner_pos.raw
            elif isinstance(value, _TYPED_SCALARS) and value_pos and value_pos.raw is not None:
                env[name] = value_pos.raw


def _strip_loc(loc: tuple) -> tuple:
    return tuple(p for p in loc if not (isinstance(p, str) and (p.startswith(TAG_PREFIX) or p == "[key]")))


def _what_is_sound(spec_path: Path, doc: Document, errors: list[ErrorDetails]) -> tuple[LoadedSpec | None, set[str]]:
    """The spec minus its broken keys, so the cross-field rules (and detection) can still run on it and
    every problem shows at once; and the paths whose rule problems are dropped.

    A typo'd key is simply left out. A broken value falls back to its default, so rule problems
    about the same app or database are dropped (they could be about the default, not the user's
    value). A missing required key or a broken app/database as a whole leaves nothing sound (None).
    """
    data = copy.deepcopy(doc.data)
    unsound: set[str] = set()
    for error in errors:
        loc = _strip_loc(error["loc"])
        target = loc[:-1] if error["type"] == "missing" else loc
        cut = next((i for i, part in enumerate(target) if isinstance(part, int)), None)
        if cut is not None:
            target = target[:cut]  # drop the whole list: removing an item would shift the positions
        entity = len(target) >= 1 and target[0] in ("apps", "databases")
        if len(target) < (3 if entity else 2) and error["type"] != "extra_forbidden":
            return None, unsound
        parent = data
        for part in target[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            parent.pop(target[-1], None)
        if error["type"] != "extra_forbidden":
            unsound.add(format_path(target[:2] if entity else target))
    try:
        spec = Spec.model_validate(data)
    except pydantic.ValidationError:
        return None, unsound
    return LoadedSpec(spec, spec_path, spec_path.resolve().parent, doc), unsound


def _overlay_paths(overlay: Path | str | Sequence[Path | str] | None) -> list[Path]:
    if overlay is None:
        return []
    if isinstance(overlay, (str, Path)):
        return [Path(overlay)]
    return [Path(p) for p in overlay]


def load_document(spec_path: Path, overlay_path: Path | str | Sequence[Path | str] | None = None) -> Document:
    """The spec with its overlays merged over it, in order (a later overlay wins)."""
    doc = load_yaml_file(spec_path)
    _require_mapping(doc)
    for path in _overlay_paths(overlay_path):
        over = load_yaml_file(path)
        _require_mapping(over)
        data, pos = merge(doc.data, doc.pos, over.data, over.pos)
        doc = Document(doc.file, data, pos, doc.problems + over.problems)
    return doc


def _require_mapping(doc: Document) -> None:
    if not isinstance(doc.data, dict):
        raise InputError(
            [
                Problem(
                    f"the file holds {describe(doc.data)}, but a spec is a mapping of keys",
                    doc.pos.mark,
                    hint="start with `version: 1` and `stack: NAME` at the left margin",
                )
            ]
        )


class Validated(Struct):
    """The validate step's result: the spec (None when nothing of it is sound), the source folders that
    passed, and the problems so far, which the detect step adds to before `accept` reports them."""

    loaded: LoadedSpec | None
    sources: dict[str, Path]
    problems: Problems
    # Set when the spec itself failed and `loaded` is what is sound of it: its own problems, minus
    # those under these paths (they could be about a default standing in for a broken value), and
    # its errors only, join the spec's.
    failed: Problems | None = None
    unsound: set[str] = field(default_factory=set)

    def accept(self) -> LoadedSpec:
        """The spec, or InputError with every problem of validation and detection at once."""
        if self.failed is not None:
            for problem in self.problems.errors:  # warnings about a repaired spec could be about defaults
                if not any(problem.path == p or problem.path.startswith((p + ".", p + "[")) for p in self.unsound):
                    self.failed.add(problem)
            raise InputError(self.failed.sorted())
        if self.problems.errors or self.loaded is None:
            raise InputError(self.problems.sorted())
        self.loaded.warnings = self.problems.sorted()
        return self.loaded


def validate(spec_path: Path, doc: Document) -> Validated:
    """The spec's types (pydantic), then the rules that span several keys (flashdrive/spec/rules.py).
    Nothing is raised yet: the detect step adds its problems first."""
    from flashdrive.spec.rules import check

    problems = Problems(list(doc.problems))
    _stringify_scalars(doc.data, doc.pos)
    try:
        spec = Spec.model_validate(doc.data)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems.extend(_translate(e, doc) for e in errors)
        repaired, unsound = _what_is_sound(spec_path, doc, errors)
        found = Problems()
        sources = check(repaired, found) if repaired is not None else {}
        return Validated(repaired, sources, found, failed=problems, unsound=unsound)
    loaded = LoadedSpec(spec, spec_path, spec_path.resolve().parent, doc)
    return Validated(loaded, check(loaded, problems), problems)


def load_spec(spec_path: Path | str, overlay_path: Path | str | Sequence[Path | str] | None = None) -> LoadedSpec:
    """Load → validate, without detection (commands that need the spec alone: the stack's name, its
    previews): raises InputError with every problem (warnings included). The whole pipeline, with
    detection, is flashdrive/pipeline.py."""
    spec_path = Path(spec_path)
    return validate(spec_path, load_document(spec_path, overlay_path)).accept()
