"""Plan a flashdrive.yaml: load it, give every `{config: KEY}` a placeholder, run the program."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from flashdrive.plan.capture import capture
from flashdrive.plan.model import Plan

PROJECT = "flashdrive"
DEFAULT_STACK = "dev"


def config_keys(spec: Any) -> list[str]:
    """Every Pulumi config key the spec reads (`{config: KEY}` anywhere: env values, domain
    certificates and keys, backup target credentials...), as written, sorted."""
    from flashdrive.spec.model import ConfigValue

    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, ConfigValue):
            found.add(value.config)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name, None))
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                walk(item)

    walk(spec)
    return sorted(found)


def full_config_key(key: str, project: str = PROJECT) -> str:
    return key if ":" in key else f"{project}:{key}"


def placeholder(key: str) -> str:
    """The stand-in value a plan gives a config key (shown as [secret] anyway)."""
    return "placeholder-" + re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-")


def plan_loaded(loaded, *, backend: str | None = None, stack: str = DEFAULT_STACK,
                config: Mapping[str, str] | None = None) -> Plan:
    """Run `flashdrive.program.build_stack(loaded, backend)` under the capture.

    Every config key the spec reads is secret and gets a placeholder unless `config` gives a value
    (keys with or without the `flashdrive:` namespace). The plan is labelled with the spec's stack
    name and the backend in effect.
    """
    from flashdrive import program as program_module

    build_stack = getattr(program_module, "build_stack", None)
    if build_stack is None:
        from flashdrive.plan.capture import ProgramError

        raise ProgramError("this flashdrive has no Pulumi program to plan (flashdrive.program.build_stack is missing)")
    keys = [full_config_key(k) for k in config_keys(loaded.spec)]
    values = {key: placeholder(key) for key in keys}
    values.update({full_config_key(k): v for k, v in (config or {}).items()})
    plan = capture(lambda: build_stack(loaded, backend), project=PROJECT, stack=stack,
                   config=values, secret_config_keys=keys)
    plan.stack = loaded.spec.stack
    plan.backend = backend or loaded.spec.backend
    return plan


def plan_spec(spec_path: str | Path, overlay_path: str | Path | None = None, *, backend: str | None = None,
              stack: str = DEFAULT_STACK, config: Mapping[str, str] | None = None) -> Plan:
    """Load and validate a spec (InputError if it is wrong), then plan it."""
    from flashdrive.spec import load_spec

    loaded = load_spec(spec_path, overlay_path)
    return plan_loaded(loaded, backend=backend, stack=stack, config=config)
