"""The two sides of a diff: a plan JSON file (`flashdrive plan --format json`) or a spec, planned here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

from msgspec import Struct

from flashdrive.bounded import os_reason, read_bounded
from flashdrive.plan.plan import PLAN_VERSION, Plan, PlannedResource
from flashdrive.problems import InputError, Mark, Problem


class Side(Struct, frozen=True):
    label: str  # the path as given
    plan: Plan


def _problem(path: str, message: str, line: int = 0, col: int = 0, hint: str | None = None) -> InputError:
    return InputError([Problem(message, Mark(path, line, col), hint=hint)])


def load_side(path: str, *, stack: str = "dev") -> Side:
    """Read a plan JSON file, or load, validate and plan a spec. InputError when the file is
    missing or wrong; flashdrive.plan.ProgramError when a spec's program fails."""
    file = Path(path)
    try:
        if file.is_dir() or not file.exists():
            what = "is a folder, not a file" if file.is_dir() else "does not exist"
            raise _problem(path, f"{what}; give a plan JSON file (flashdrive plan --format json) or a flashdrive.yaml")
        text = read_bounded(file, MAX_PLAN_BYTES).decode("utf-8")
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        reason = os_reason(exc) if not isinstance(exc, UnicodeDecodeError) else "it is not UTF-8 text"
        raise _problem(path, f"cannot be read: {reason}") from None

    if file.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            document = parse_plan_json(text)
        except json.JSONDecodeError as exc:
            if file.suffix.lower() == ".json":
                raise _problem(path, f"is not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
        except _NotAPlan as exc:
            raise _problem(
                path,
                f"is not a flashdrive plan: {exc}",
                hint="write one with: flashdrive plan SPEC --format json > plan.json",
            ) from None
        else:
            if isinstance(document, dict) and "resources" in document:
                problem = schema_problem(document)
                if problem:
                    raise _problem(
                        path,
                        f"is not a flashdrive plan: {problem}",
                        hint="write one with: flashdrive plan SPEC --format json > plan.json",
                    )
                return Side(path, plan_from_json(document, path))
            if file.suffix.lower() == ".json":
                raise _problem(
                    path,
                    "is not a flashdrive plan: it has no 'resources'",
                    hint="write one with: flashdrive plan SPEC --format json > plan.json",
                )

    from flashdrive.plan.capture import ProgramError
    from flashdrive.plan.planner import plan_spec

    try:
        return Side(path, plan_spec(path, stack=stack))
    except ProgramError as exc:
        raise ProgramError(str(exc), exc.cause, source=path) from exc.cause


MAX_PLAN_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64  # plans nest a few levels (inputs of inputs); deeper is not a plan and would recurse
MAX_INT_DIGITS = 30


class _NotAPlan(Exception):
    pass


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _NotAPlan(f"a number with {len(text)} digits")
    return int(text)


def _parse_constant(name: str) -> float:
    raise _NotAPlan(f"{name} is not a JSON number")


def parse_plan_json(text: str) -> Any:
    """json.loads, refusing what no plan holds and what would crash later code: numbers longer
    than any plan writes, NaN/Infinity, and nesting deeper than MAX_DEPTH (checked without
    recursion, before anything recurses into the document)."""
    try:
        document = json.loads(text, parse_int=_parse_int, parse_constant=_parse_constant)
    except RecursionError:
        raise _NotAPlan(f"it nests deeper than {MAX_DEPTH} levels") from None
    stack = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _NotAPlan(f"it nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return document


_STRINGS = {"type": "array", "items": {"type": "string"}}
PLAN_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "flashdrive plan (flashdrive plan --format json)",
    "type": "object",
    "required": ["version", "resources"],
    "properties": {
        "version": {"const": PLAN_VERSION},
        "stack": {"type": ["string", "null"]},
        "backend": {"type": ["string", "null"]},
        "outputs": {"type": ["object", "null"]},
        "resources": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["urn", "type", "name"],
                "properties": {
                    "urn": {"type": "string", "pattern": "^urn:pulumi:[^:]+::[^:]+::"},
                    "type": {"type": "string", "minLength": 1},
                    "name": {"type": "string"},
                    "parent": {"type": ["string", "null"]},
                    "custom": {"type": "boolean"},
                    "inputs": {"type": ["object", "null"]},
                    "outputs": {"type": ["object", "null"]},
                    "options": {
                        "type": ["object", "null"],
                        "properties": {
                            "protect": {"type": "boolean"},
                            "retainOnDelete": {"type": "boolean"},
                            "deleteBeforeReplace": {"type": "boolean"},
                            "dependsOn": _STRINGS,
                            "aliases": {"type": "array", "items": {"type": ["string", "object"]}},
                        },
                    },
                },
            },
        },
    },
}


def schema_problem(document: Any) -> str | None:
    """The first place where `document` departs from PLAN_SCHEMA, as 'WHERE: WHAT', or None."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(PLAN_SCHEMA).iter_errors(document))
    if error is None:
        return None
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.path).lstrip(".")
    message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
    return f"{where or 'the document'}: {message}"


def _require(condition: bool, path: str, message: str) -> None:
    if not condition:
        _refuse(path, message)


def _refuse(path: str, message: str) -> NoReturn:
    raise _problem(
        path,
        f"is not a flashdrive plan: {message}",
        hint="write one with: flashdrive plan SPEC --format json > plan.json",
    )


def plan_from_json(document: dict[str, Any], path: str = "<plan>") -> Plan:
    """A `plan --format json` document back into a Plan (what the JSON carries of it)."""
    version = document.get("version")
    _require(version == PLAN_VERSION, path, f"version {version!r}, this flashdrive reads version {PLAN_VERSION}")
    resources_json = document.get("resources")
    if not isinstance(resources_json, list):
        _refuse(path, "'resources' is not a list")
    resources: list[PlannedResource] = []
    for index, item in enumerate(resources_json):
        where = f"resources[{index}]"
        _require(isinstance(item, dict), path, f"{where} is not an object")
        for key in ("urn", "type", "name"):
            _require(isinstance(item.get(key), str), path, f"{where}.{key} is missing or not text")
        inputs = item.get("inputs", {})
        _require(isinstance(inputs, dict), path, f"{where}.inputs is not an object")
        options = item.get("options") or {}
        _require(isinstance(options, dict), path, f"{where}.options is not an object")
        registered = item.get("outputs")  # a component's own outputs
        _require(registered is None or isinstance(registered, dict), path, f"{where}.outputs is not an object")
        resources.append(
            PlannedResource(
                urn=item["urn"],
                type=item["type"],
                name=item["name"],
                parent=item.get("parent"),
                custom=bool(item.get("custom", True)),
                inputs=inputs,
                protect=bool(options.get("protect", False)),
                retain_on_delete=bool(options.get("retainOnDelete", False)),
                delete_before_replace=bool(options.get("deleteBeforeReplace", False)),
                depends_on=tuple(options.get("dependsOn") or ()),
                aliases=tuple(options.get("aliases") or ()),
                outputs=registered,
            )
        )
    urn_parts = resources[0].urn.split("::") if resources else []
    outputs, stack, backend = document.get("outputs"), document.get("stack"), document.get("backend")
    return Plan(
        resources=sorted(resources, key=lambda r: r.urn),
        outputs=outputs if isinstance(outputs, dict) else {},
        project=urn_parts[1] if len(urn_parts) > 1 else "flashdrive",
        pulumi_stack=urn_parts[0].rpartition(":")[2] if urn_parts else "dev",
        stack=stack if isinstance(stack, str) else "",
        backend=backend if isinstance(backend, str) else None,
    )
