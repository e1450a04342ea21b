"""The pipeline, one step a line: load → validate → detect → resolve → build.

`run_pipeline` is the one way a spec becomes a stack: `pulumi up` (flashdrive.program.run), `plan`
and `diff` (flashdrive.plan.planner) run it; `validate` and `detect` stop after detect
(`check_spec`), without importing Pulumi. Where the last two steps run is the caller's: inside the
Pulumi engine, or under the plan's mock monitor (`build_in`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple, TypeVar

from flashdrive.spec.detect import Detections, detect
from flashdrive.spec.loader import LoadedSpec, load_document, validate

T = TypeVar("T")
Overlays = Path | str | Sequence[Path | str] | None


class Checked(NamedTuple):
    """What load → validate → detect hand to resolve: the spec, and what each app's source folder holds."""

    loaded: LoadedSpec
    detections: Detections


def run_pipeline(
    spec_path: Path | str,
    overlay_path: Overlays = None,
    *,
    backend: str | None = None,
    preview: int | None = None,
    build_in: Callable[[Checked, Callable[[], dict]], T],
) -> T:
    """Load → validate → detect, raising InputError with every problem of the three at once; then
    `build_in(checked, program)`, where `program()` resolves the model and builds the stack (the
    backend's resources registered, the outputs exported)."""
    spec_path = Path(spec_path)
    document = load_document(spec_path, overlay_path)  # load (overlays merged)
    validated = validate(spec_path, document)  # validate: types, then cross-key rules
    detections = detect(validated)  # detect: the buildpack reads each source folder
    checked = Checked(validated.accept(), detections)  # the problems of both steps, at once

    def program() -> dict:
        from flashdrive import program as pulumi_program
        from flashdrive.model import resolve

        model = resolve(checked.loaded, checked.detections, backend, preview)  # resolve
        return pulumi_program.build_stack(model)  # build

    return build_in(checked, program)


def check_spec(spec_path: Path | str, overlay_path: Overlays = None) -> Checked:
    """The pipeline up to detect (what `validate` and `detect` report): nothing resolved, no Pulumi."""
    return run_pipeline(spec_path, overlay_path, build_in=lambda checked, program: checked)
