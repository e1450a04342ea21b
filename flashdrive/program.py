"""What `pulumi up` runs: load and validate the spec, then hand the model to its backend."""

from __future__ import annotations

import pulumi

from flashdrive.problems import InputError


class SpecError(pulumi.RunError):
    """Shown by Pulumi as a plain message, without a Python traceback."""


def run(spec_path: str, overlay_path: str | None = None) -> None:
    from flashdrive.spec import load_spec

    try:
        loaded = load_spec(spec_path, overlay_path)
    except InputError as exc:
        raise SpecError("\n".join(p.format() for p in exc.problems)) from None
    for warning in loaded.warnings:
        pulumi.log.warn(warning.format())
    backend = loaded.spec.backend
    # The backends arrive in their own issues; until then say so instead of deploying nothing.
    raise SpecError(f"{spec_path}: the spec is valid, but the {backend} backend is not built yet: "
                    "nothing can be deployed. Use `flashdrive validate` to check specs meanwhile.")
