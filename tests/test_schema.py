"""The committed flashdrive.schema.json is what `flashdrive schema` prints, and it describes the contract."""

import json
from pathlib import Path

from flashdrive.cli.main import main
from flashdrive.spec.schema import json_schema, schema_text

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_is_in_sync_with_the_models():
    committed = (ROOT / "flashdrive.schema.json").read_text()
    assert committed == schema_text(), "run `flashdrive schema > flashdrive.schema.json` and commit it"


def test_schema_command_prints_draft_2020_12(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == {"version", "stack"}


def _defs():
    return json_schema()["$defs"]


def test_schema_rejects_unknown_keys_everywhere():
    for name, definition in _defs().items():
        if definition.get("type") == "object" and "properties" in definition:
            assert definition.get("additionalProperties") is False, name
    apps = json_schema()["properties"]["apps"]
    assert apps["additionalProperties"] is False  # names outside the pattern are refused too


def test_schema_carries_descriptions_and_enums_for_editors():
    app = _defs()["AppSpec"]["properties"]
    assert "least busy copy" in app["nodes"]["description"]
    sizes = app["size"]
    assert sizes["enum"] == ["xs", "s", "m", "l", "xl"]
    assert _defs()["DatabaseSpec"]["properties"]["engine"]["enum"] == ["postgres", "mysql", "mongodb", "redis"]
    for name, definition in _defs().items():
        for prop, body in definition.get("properties", {}).items():
            assert body.get("description"), f"{name}.{prop} has no description"


def test_examples_point_editors_at_the_schema():
    for spec in (ROOT / "examples").rglob("flashdrive*.yaml"):
        first = spec.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), spec
        target = first.split("$schema=", 1)[1]
        assert (spec.parent / target).resolve() == (ROOT / "flashdrive.schema.json"), spec


def test_schema_accepts_the_examples_and_refuses_a_typo():
    import jsonschema
    import yaml

    validator = jsonschema.Draft202012Validator(json_schema())
    for spec in (ROOT / "examples").rglob("flashdrive.yaml"):
        data = yaml.safe_load(spec.read_text())
        assert not list(validator.iter_errors(data)), spec
        data["apps"]["web"]["nodez"] = 2
        assert any("nodez" in e.message for e in validator.iter_errors(data))
