"""Wire values → plan values: every secret masked wherever it sits, nothing else changed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from google.protobuf import struct_pb2
from hypothesis import given, strategies as st

from flashdrive.plan import wire_values

MARK = "S3CR3T-"


@dataclass(frozen=True)
class Secret:
    value: Any


def to_wire(value: Any) -> struct_pb2.Value:
    wire = struct_pb2.Value()
    if isinstance(value, Secret):
        wire.struct_value.fields[wire_values.SIG_KEY].string_value = wire_values.SECRET_SIG
        wire.struct_value.fields["value"].CopyFrom(to_wire(value.value))
    elif value is None:
        wire.null_value = 0
    elif isinstance(value, bool):
        wire.bool_value = value
    elif isinstance(value, (int, float)):
        wire.number_value = value
    elif isinstance(value, str):
        wire.string_value = value
    elif isinstance(value, list):
        wire.list_value.SetInParent()
        wire.list_value.values.extend(to_wire(v) for v in value)
    else:
        wire.struct_value.SetInParent()
        for key, item in value.items():
            wire.struct_value.fields[key].CopyFrom(to_wire(item))
    return wire


def unwrap(value: Any) -> Any:
    if isinstance(value, Secret):
        return unwrap(value.value)
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    return value


plain = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40),
                  st.text(alphabet="abcXYZ_=:/ 019", max_size=12).filter(lambda s: MARK not in s))
secret_leaf = st.text(alphabet="abcXYZ_=019", min_size=1, max_size=8).map(lambda s: Secret(MARK + s))
keys = st.text(alphabet="abcdefgh", min_size=1, max_size=6) | st.just("envs")
tree = st.recursive(plain | secret_leaf,
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(keys, children, max_size=4)
                    | children.map(Secret),
                    max_leaves=12)


@given(st.dictionaries(keys, tree, max_size=4))
def test_no_secret_survives_masking_anywhere(properties):
    wire = to_wire(properties).struct_value
    masked = wire_values.struct_to_python(wire, mask=True)
    assert MARK not in json.dumps(masked)


@given(st.dictionaries(keys, tree, max_size=4))
def test_without_masking_the_values_come_back_unchanged(properties):
    wire = to_wire(properties).struct_value
    assert wire_values.struct_to_python(wire, mask=False) == unwrap(properties)


def test_a_secret_element_masks_only_itself():
    wire = to_wire({"labels": {"a": "1", "b": Secret("x")}, "list": ["p", Secret("q")]}).struct_value
    assert wire_values.struct_to_python(wire) == {"labels": {"a": "1", "b": "[secret]"}, "list": ["p", "[secret]"]}


def test_env_entries_keep_their_name_only_in_envs_lists():
    wire = to_wire({"envs": [Secret("TOKEN=abc"), Secret("no-name"), "A=b"],
                    "command": [Secret("TOKEN=abc")],
                    "whole": {"envs": Secret(["X=1", "Y=2"])}}).struct_value
    assert wire_values.struct_to_python(wire) == {
        "envs": ["TOKEN=[secret]", "[secret]", "A=b"],
        "command": ["[secret]"],
        "whole": {"envs": ["X=[secret]", "Y=[secret]"]},
    }


def test_whole_numbers_read_as_integers():
    wire = to_wire({"memory": 512.0, "ratio": 0.5}).struct_value
    assert wire_values.struct_to_python(wire) == {"memory": 512, "ratio": 0.5}
    assert isinstance(wire_values.struct_to_python(wire)["memory"], int)


def test_resource_references_show_their_urn_and_unknowns_say_so():
    wire = to_wire({"ref": {wire_values.SIG_KEY: wire_values.RESOURCE_SIG, "urn": "urn:pulumi:dev::p::t::n", "id": "x"},
                    "later": wire_values.UNKNOWN_VALUE}).struct_value
    assert wire_values.struct_to_python(wire) == {"ref": "urn:pulumi:dev::p::t::n", "later": "[unknown]"}
