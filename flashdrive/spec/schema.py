"""The JSON Schema (draft 2020-12) of flashdrive.yaml, generated from the models."""

from __future__ import annotations

import json

from flashdrive.spec.model import Spec

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


def json_schema() -> dict:
    schema = Spec.model_json_schema()
    _close_name_maps(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"
