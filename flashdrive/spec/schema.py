"""The JSON Schema (draft 2020-12) of flashdrive.yaml, generated from the models."""

from __future__ import annotations

import json

from flashdrive.spec.model import Spec

SCHEMA_ID = "https://raw.githubusercontent.com/flashdrive/flashdrive/main/flashdrive.schema.json"


def json_schema() -> dict:
    schema = Spec.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"
