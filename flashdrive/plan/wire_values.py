"""Registered property values (protobuf `Struct`s on the wire) → plain JSON-able Python, secrets masked.

Walking the wire form ourselves, rather than `pulumi.runtime.rpc.deserialize_properties`, keeps
every secret recognisable (the SDK's deserializer unwraps them), needs no event loop, and never
rehydrates resource references.
"""

from __future__ import annotations

import re
from typing import Any

from google.protobuf import struct_pb2

SECRET = "[secret]"
UNKNOWN = "[unknown]"

# The Pulumi wire protocol's special values (see pulumi/runtime/rpc.py; they are part of the protocol).
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# In a docker `envs` list every element is `NAME=value`; the name comes from the spec, so a secret
# element is shown as `NAME=[secret]` (the CLI contract's example) instead of a bare `[secret]`.
ENV_KEY = "envs"
_ENV_ENTRY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=")


def _signature(value: struct_pb2.Value) -> str | None:
    if value.WhichOneof("kind") != "struct_value":
        return None
    sig = value.struct_value.fields.get(SIG_KEY)
    if sig is None or sig.WhichOneof("kind") != "string_value":
        return None
    return sig.string_value


def is_secret(value: struct_pb2.Value) -> bool:
    """Whether a wire value is a secret (or an output value marked secret)."""
    sig = _signature(value)
    if sig == SECRET_SIG:
        return True
    if sig == OUTPUT_VALUE_SIG:
        flag = value.struct_value.fields.get("secret")
        return flag is not None and flag.bool_value
    return False


def secret_keys(struct: struct_pb2.Struct) -> set[str]:
    """Top-level keys whose value is secret."""
    return {key for key, value in struct.fields.items() if is_secret(value)}


def wrap_secret(value: struct_pb2.Value) -> struct_pb2.Value:
    """`value` marked secret, as the engine would send it."""
    if is_secret(value):
        return value
    wrapped = struct_pb2.Value()
    wrapped.struct_value.fields[SIG_KEY].string_value = SECRET_SIG
    wrapped.struct_value.fields["value"].CopyFrom(value)
    return wrapped


def struct_to_python(struct: struct_pb2.Struct, *, mask: bool = True) -> dict[str, Any]:
    """A registered property map as plain Python. With `mask`, every secret becomes "[secret]"."""
    return {key: value_to_python(value, mask=mask, env_list=(key == ENV_KEY)) for key, value in struct.fields.items()}


def value_to_python(
    value: struct_pb2.Value, *, mask: bool = True, env_list: bool = False, env_entry: bool = False
) -> Any:
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        # Struct numbers are doubles; the engine reads 512.0 as the integer 512.
        if number.is_integer() and abs(number) < 2**53:
            return int(number)
        return number
    if kind == "string_value":
        return UNKNOWN if value.string_value == UNKNOWN_VALUE else value.string_value
    if kind == "list_value":
        return [value_to_python(item, mask=mask, env_entry=env_list) for item in value.list_value.values]

    fields = value.struct_value.fields
    sig = _signature(value)
    if sig == SECRET_SIG:
        inner = fields.get("value", struct_pb2.Value(null_value=0))
        if mask:
            return _mask(inner, env_list=env_list, env_entry=env_entry)
        return value_to_python(inner, mask=False, env_list=env_list, env_entry=env_entry)
    if sig == OUTPUT_VALUE_SIG:
        if mask and is_secret(value):
            inner = fields.get("value")
            return _mask(inner, env_list=env_list, env_entry=env_entry) if inner is not None else SECRET
        if "value" not in fields:
            return UNKNOWN
        return value_to_python(fields["value"], mask=mask, env_list=env_list, env_entry=env_entry)
    if sig == RESOURCE_SIG:
        # A resource passed as an input travels as a reference; show the URN it names.
        return fields["urn"].string_value if "urn" in fields else UNKNOWN
    if sig == ASSET_SIG:
        return {"asset": {k: value_to_python(v, mask=mask) for k, v in fields.items() if k != SIG_KEY}}
    if sig == ARCHIVE_SIG:
        return {"archive": {k: value_to_python(v, mask=mask) for k, v in fields.items() if k != SIG_KEY}}
    return {key: value_to_python(item, mask=mask, env_list=(key == ENV_KEY)) for key, item in fields.items()}


def _mask(inner: struct_pb2.Value, *, env_list: bool, env_entry: bool) -> Any:
    """What a secret shows in a plan: "[secret]", except that the NAME of a `NAME=value` entry of an
    `envs` list stays readable (a whole secret `envs` list is masked element by element)."""
    kind = inner.WhichOneof("kind")
    if env_entry and kind == "string_value":
        match = _ENV_ENTRY.match(inner.string_value)
        if match:
            return f"{match.group(1)}={SECRET}"
    if env_list and kind == "list_value":
        return [_mask(item, env_list=False, env_entry=True) for item in inner.list_value.values]
    if env_entry and kind == "struct_value" and is_secret(inner):
        return _mask(inner.struct_value.fields.get("value", struct_pb2.Value()), env_list=False, env_entry=True)
    return SECRET
