"""The JSON Schema (draft 2020-12) of flashdrive.yaml, generated from the models."""

from __future__ import annotations

import importlib.util
import json
import sys

from flashdrive.spec import contract

SCHEMA_ID = "https://raw.githubusercontent.com/flashdrive/flashdrive/main/flashdrive.schema.json"


def _close_name_maps(node) -> None:
    """Maps keyed by name (apps, databases, env) refuse keys outside their pattern too."""
    if isinstance(node, dict):
        if "patternProperties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _close_name_maps(value)
    elif isinstance(node, list):
        for value in node:
            _close_name_maps(value)


def _documented_spec() -> type[contract.Spec]:
    """`Spec` from a copy of flashdrive.spec.contract that reads attribute docstrings as descriptions."""
    name = f"{contract.__name__}_with_field_docs"
    if name not in sys.modules:
        found = importlib.util.spec_from_file_location(name, contract.__file__)
        assert found is not None and found.loader is not None
        module = importlib.util.module_from_spec(found)
        sys.modules[name] = module  # pydantic resolves the annotations through sys.modules
        found.loader.exec_module(module)
    return sys.modules[name].Spec


def json_schema() -> dict:
    schema = _documented_spec().model_json_schema()
    _close_name_maps(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"
