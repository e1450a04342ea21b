"""Plan a flashdrive.yaml: the pipeline, with every `{config: KEY}` given a placeholder and its
resolve and build steps run under Pulumi's mock monitor."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from flashdrive.plan.capture import capture
from flashdrive.plan.plan import Plan
from flashdrive.spec.contract import config_keys

if TYPE_CHECKING:
    from flashdrive.pipeline import Checked, Overlays

PROJECT = "flashdrive"
DEFAULT_STACK = "dev"


def full_config_key(key: str, project: str = PROJECT) -> str:
    return key if ":" in key else f"{project}:{key}"


def placeholder(key: str) -> str:
    """The stand-in value a plan gives a config key (shown as [secret] anyway)."""
    return "placeholder-" + re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-")


def plan_spec(
    spec_path: str | Path,
    overlay_path: Overlays = None,
    *,
    backend: str | None = None,
    stack: str = DEFAULT_STACK,
    config: Mapping[str, str] | None = None,
    preview: int | None = None,
    checked: Callable[[Checked], None] | None = None,
) -> Plan:
    """Run the pipeline (flashdrive/pipeline.py) with its resolve and build steps under the capture:
    InputError if the spec is wrong, else the plan. `checked` is told the checked spec first (the
    `plan` command prints its warnings before the plan).

    Every config key the spec reads is secret and gets a placeholder unless `config` gives a value
    (keys with or without the `flashdrive:` namespace). The plan is labelled with the spec's stack
    name and the backend in effect.
    """
    from flashdrive.pipeline import run_pipeline

    def in_the_capture(spec: Checked, program: Callable[[], dict]) -> Plan:
        from flashdrive.credentials import FULL_CONFIG_KEY as MASTER_KEY
        from flashdrive.model.preview import preview_stack_name, resolve_preview

        if checked is not None:
            checked(spec)
        loaded = spec.loaded
        # The master key every generated credential derives from (flashdrive/credentials.py) is
        # stack config too: a plan gives it a placeholder like any other.
        keys = [full_config_key(k) for k in config_keys(loaded.spec)] + [MASTER_KEY]
        values = {key: placeholder(key) for key in keys}
        values.update({full_config_key(k): v for k, v in (config or {}).items()})
        if preview is not None:  # a preview that cannot be made fails here, as the spec's own problems do
            resolve_preview(loaded, spec.detections, preview, backend)
        plan = capture(program, project=PROJECT, stack=stack, config=values, secret_config_keys=keys)
        plan.stack = loaded.spec.stack if preview is None else preview_stack_name(loaded.spec.stack, preview)
        plan.backend = backend or loaded.spec.backend
        return plan

    return run_pipeline(spec_path, overlay_path, backend=backend, preview=preview, build_in=in_the_capture)
