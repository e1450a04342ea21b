"""Plan a flashdrive.yaml: load it, give every `{config: KEY}` a placeholder, run the program."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from flashdrive.plan.capture import capture
from flashdrive.plan.plan import Plan
from flashdrive.spec.contract import config_keys

PROJECT = "flashdrive"
DEFAULT_STACK = "dev"


def full_config_key(key: str, project: str = PROJECT) -> str:
    return key if ":" in key else f"{project}:{key}"


def placeholder(key: str) -> str:
    """The stand-in value a plan gives a config key (shown as [secret] anyway)."""
    return "placeholder-" + re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-")


def plan_loaded(loaded, *, backend: str | None = None, stack: str = DEFAULT_STACK,
                config: Mapping[str, str] | None = None, preview: int | None = None) -> Plan:
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
    from flashdrive.credentials import FULL_CONFIG_KEY as MASTER_KEY

    # The master key every generated credential derives from (flashdrive/credentials.py) is
    # stack config too: a plan gives it a placeholder like any other.
    keys = [full_config_key(k) for k in config_keys(loaded.spec)] + [MASTER_KEY]
    values = {key: placeholder(key) for key in keys}
    values.update({full_config_key(k): v for k, v in (config or {}).items()})
    from flashdrive.model.preview import preview_stack_name, resolve_preview

    if preview is not None:  # a preview that cannot be made fails here, as the spec's own problems do

        resolve_preview(loaded, preview, backend)
    # Programs from before previews (and test doubles) take (loaded, backend) only.
    program = (lambda: build_stack(loaded, backend)) if preview is None else (lambda: build_stack(loaded, backend, preview))
    plan = capture(program, project=PROJECT, stack=stack,
                   config=values, secret_config_keys=keys)
    plan.stack = loaded.spec.stack if preview is None else preview_stack_name(loaded.spec.stack, preview)
    plan.backend = backend or loaded.spec.backend
    return plan


def plan_spec(spec_path: str | Path, overlay_path: str | Path | None = None, *, backend: str | None = None,
              stack: str = DEFAULT_STACK, config: Mapping[str, str] | None = None, preview: int | None = None) -> Plan:
    """Load and validate a spec (InputError if it is wrong), then plan it."""
    from flashdrive.spec import load_spec

    loaded = load_spec(spec_path, overlay_path)
    return plan_loaded(loaded, backend=backend, stack=stack, config=config, preview=preview)
