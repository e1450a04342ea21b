"""The two sides of a diff: a plan JSON file (`flashdrive plan --format json`) or a spec, planned here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flashdrive.plan.model import PLAN_VERSION, Plan, PlannedResource
from flashdrive.problems import InputError, Mark, Problem


@dataclass(frozen=True)
class Side:
    label: str  # the path as given
    plan: Plan
    planned_here: bool  # True when the side was a spec


def _problem(path: str, message: str, line: int = 0, col: int = 0, hint: str | None = None) -> InputError:
    return InputError([Problem(message, Mark(path, line, col), hint=hint)])


def load_side(path: str, *, stack: str = "dev") -> Side:
    """Read a plan JSON file, or load, validate and plan a spec. InputError when the file is
    missing or wrong; flashdrive.plan.ProgramError when a spec's program fails."""
    file = Path(path)
    if not file.is_file():
        what = "is a folder, not a file" if file.is_dir() else "does not exist"
        raise _problem(path, f"{what}; give a plan JSON file (flashdrive plan --format json) or a flashdrive.yaml")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _problem(path, f"cannot be read: {exc}") from None

    if file.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            if file.suffix.lower() == ".json":
                raise _problem(path, f"is not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
        else:
            if isinstance(document, dict) and "resources" in document:
                return Side(path, plan_from_json(document, path), planned_here=False)
            if file.suffix.lower() == ".json":
                raise _problem(path, "is not a flashdrive plan: it has no 'resources'",
                               hint="write one with: flashdrive plan SPEC --format json > plan.json")

    from flashdrive.plan.spec import plan_spec

    return Side(path, plan_spec(path, stack=stack), planned_here=True)


def _require(condition: bool, path: str, message: str) -> None:
    if not condition:
        raise _problem(path, f"is not a flashdrive plan: {message}",
                       hint="write one with: flashdrive plan SPEC --format json > plan.json")


def plan_from_json(document: dict[str, Any], path: str = "<plan>") -> Plan:
    """A `plan --format json` document back into a Plan (what the JSON carries of it)."""
    version = document.get("version")
    _require(version == PLAN_VERSION, path, f"version {version!r}, this flashdrive reads version {PLAN_VERSION}")
    resources_json = document.get("resources")
    _require(isinstance(resources_json, list), path, "'resources' is not a list")
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
        resources.append(PlannedResource(
            urn=item["urn"], type=item["type"], name=item["name"], parent=item.get("parent"),
            custom=bool(item.get("custom", True)), inputs=inputs,
            protect=bool(options.get("protect", False)),
            retain_on_delete=bool(options.get("retainOnDelete", False)),
            delete_before_replace=bool(options.get("deleteBeforeReplace", False)),
            depends_on=tuple(options.get("dependsOn") or ()),
            aliases=tuple(options.get("aliases") or ()),
        ))
    urn_parts = resources[0].urn.split("::") if resources else []
    outputs = document.get("outputs")
    return Plan(
        resources=sorted(resources, key=lambda r: r.urn),
        outputs=outputs if isinstance(outputs, dict) else {},
        project=urn_parts[1] if len(urn_parts) > 1 else "flashdrive",
        pulumi_stack=urn_parts[0].rpartition(":")[2] if urn_parts else "dev",
        stack=document.get("stack") if isinstance(document.get("stack"), str) else "",
        backend=document.get("backend") if isinstance(document.get("backend"), str) else None,
    )
