"""What `pulumi up` runs: load and validate the spec, then hand the resolved model to its backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from flashdrive.problems import FlashdriveError
from flashdrive.spec.loader import LoadedSpec

if TYPE_CHECKING:
    from flashdrive.backend import Backend


class SpecError(pulumi.RunError):
    """Shown by Pulumi as a plain message, without a Python traceback."""


def build_stack(loaded: LoadedSpec, backend: str | None = None, preview: int | None = None) -> dict:
    """Register every resource of the stack (or of its preview for pull request `preview`) and export
    its outputs: the last two steps of the pipeline, after load → validate → detect
    (flashdrive.spec.load_spec): resolve → build."""
    from flashdrive.backend import build_with
    from flashdrive.model import resolve

    model = resolve(loaded, backend, preview)
    return build_with(_backend(loaded, model), model)


def _backend(loaded: LoadedSpec, model) -> Backend[Any]:
    if model.backend == "docker":
        from flashdrive.docker.stack import DockerBackend

        return DockerBackend(model)
    if model.backend == "kubernetes":
        # pulumi-kubernetes is an optional extra: imported only when this backend runs.
        try:
            import pulumi_kubernetes  # noqa: F401
        except ImportError:
            raise SpecError("the kubernetes backend needs pulumi-kubernetes: pip install 'flashdrive[kubernetes]'") from None
        from flashdrive.kubernetes.stack import KubernetesBackend

        return KubernetesBackend(model)
    raise SpecError(f"{loaded.file}: the {model.backend} backend is not built yet; use `backend: docker`.")


def run(spec_path: str, overlay_path: str | None = None, preview: str | int | None = None) -> None:
    """What `__main__.py` runs; `preview`: the pull request number (`flashdrive:preview`), if any.
    Every error of the user's making reaches Pulumi as a RunError, which the engine prints as its
    message alone: no "unhandled exception", no Python traceback."""
    from flashdrive.model.preview import CONFIG_KEY, is_preview_stack, preview_number
    from flashdrive.spec import load_spec

    try:
        number = preview_number(preview, f"stack config {CONFIG_KEY}") if preview not in (None, "") else None
        loaded = load_spec(spec_path, overlay_path)
    except FlashdriveError as exc:
        raise SpecError(exc.report()) from None
    if number is not None and not is_preview_stack(pulumi.get_stack(), number):
        # A stray flashdrive:preview on the base would replace its deployment with the preview's.
        stack = pulumi.get_stack()
        raise SpecError(f"stack '{stack}' has the stack config {CONFIG_KEY} {number}, but the preview of pull "
                        f"request {number} is the stack pr-{number}: this stack is not a preview, remove the key "
                        f"(pulumi config rm {CONFIG_KEY} --stack {stack})")
    for warning in loaded.warnings:
        pulumi.log.warn(warning.format())
    try:
        if number is None:
            build_stack(loaded)
        else:
            build_stack(loaded, preview=number)
    except pulumi.RunError:
        raise
    except FlashdriveError as exc:  # the spec, the buildpack: every error flashdrive explains
        raise SpecError(exc.report()) from None
    except OSError as exc:  # a source folder or CA bundle that cannot be read, a context not writable
        raise SpecError(f"{loaded.file}: error: {exc.filename or ''}: {exc.strerror or exc}") from None
