"""What `pulumi up` runs: the pipeline (flashdrive/pipeline.py) inside the Pulumi engine, and its
last step, the resolved model handed to its backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pulumi

from flashdrive.problems import FlashdriveError

if TYPE_CHECKING:
    from flashdrive.backend import Backend
    from flashdrive.model.stack import ResolvedStack
    from flashdrive.pipeline import Checked


class SpecError(pulumi.RunError):
    """Shown by Pulumi as a plain message, without a Python traceback."""


def build_stack(model: ResolvedStack) -> dict:
    """The pipeline's build step: register every resource of the resolved stack (or of its preview)
    through its backend and export its outputs."""
    from flashdrive.backend import build_with

    return build_with(_backend(model), model)


def _backend(model: ResolvedStack) -> Backend[Any]:
    if model.backend == "docker":
        from flashdrive.docker.stack import DockerBackend

        return DockerBackend(model)
    if model.backend == "kubernetes":
        # pulumi-kubernetes is an optional extra: imported only when this backend runs.
        try:
            import pulumi_kubernetes  # noqa: F401
        except ImportError:
            raise SpecError(
                "the kubernetes backend needs pulumi-kubernetes: pip install 'flashdrive[kubernetes]'"
            ) from None
        from flashdrive.kubernetes.stack import KubernetesBackend

        return KubernetesBackend(model)
    raise SpecError(f"the {model.backend} backend is not built yet; use `backend: docker`.")


def run(spec_path: str, overlay_path: str | None = None, preview: str | int | None = None) -> None:
    """What `__main__.py` runs; `preview`: the pull request number (`flashdrive:preview`), if any.
    Every error of the user's making reaches Pulumi as a RunError, which the engine prints as its
    message alone: no "unhandled exception", no Python traceback."""
    from flashdrive.model.preview import CONFIG_KEY, is_preview_stack, preview_number
    from flashdrive.pipeline import run_pipeline

    def in_the_engine(checked: Checked, program: Callable[[], dict]) -> dict:
        for warning in checked.loaded.warnings:
            pulumi.log.warn(warning.format())
        try:
            return program()
        except pulumi.RunError:
            raise
        except FlashdriveError as exc:  # the spec, the buildpack: every error flashdrive explains
            raise SpecError(exc.report()) from None
        except OSError as exc:  # a source folder or CA bundle that cannot be read, a context not writable
            raise SpecError(f"{checked.loaded.file}: error: {exc.filename or ''}: {exc.strerror or exc}") from None

    try:
        number = preview_number(preview, f"stack config {CONFIG_KEY}") if preview not in (None, "") else None
        if number is not None and not is_preview_stack(pulumi.get_stack(), number):
            # A stray flashdrive:preview on the base would replace its deployment with the preview's.
            stack = pulumi.get_stack()
            raise SpecError(
                f"stack '{stack}' has the stack config {CONFIG_KEY} {number}, but the preview of pull "
                f"request {number} is the stack pr-{number}: this stack is not a preview, remove the key "
                f"(pulumi config rm {CONFIG_KEY} --stack {stack})"
            )
        run_pipeline(spec_path, overlay_path, preview=number, build_in=in_the_engine)
    except FlashdriveError as exc:  # load, validate, detect
        raise SpecError(exc.report()) from None
