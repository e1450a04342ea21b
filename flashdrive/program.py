"""What `pulumi up` runs: load and validate the spec, then hand the resolved model to its backend."""

from __future__ import annotations

import pulumi

from flashdrive.problems import InputError
from flashdrive.spec.loader import LoadedSpec


class SpecError(pulumi.RunError):
    """Shown by Pulumi as a plain message, without a Python traceback."""


def build_stack(loaded: LoadedSpec, backend: str | None = None, preview: int | None = None) -> dict:
    """Register every resource of the stack (or of its preview for pull request `preview`) and export
    its outputs."""
    from flashdrive.model import resolve

    model = resolve(loaded, backend, preview)
    if model.backend == "docker":
        from flashdrive.docker.stack import build_docker_stack

        return build_docker_stack(model)
    if model.backend == "kubernetes":
        return _build_kubernetes(loaded, model)
    raise SpecError(f"{loaded.file}: the {model.backend} backend is not built yet; use `backend: docker`.")


def _build_kubernetes(loaded: LoadedSpec, model) -> dict:
    # pulumi-kubernetes is an optional extra: imported only when this backend runs.
    try:
        import pulumi_kubernetes  # noqa: F401
    except ImportError:
        raise SpecError("the kubernetes backend needs pulumi-kubernetes: pip install 'flashdrive[kubernetes]'") from None
    from flashdrive.kubernetes.settings import cluster_settings
    from flashdrive.kubernetes.stack import build_kubernetes_stack

    return build_kubernetes_stack(model, cluster_settings(loaded.spec.kubernetes, model, str(loaded.file)))


def run(spec_path: str, overlay_path: str | None = None, preview: str | int | None = None) -> None:
    """What `__main__.py` runs; `preview`: the pull request number (`flashdrive:preview`), if any. Every error of the user's making reaches Pulumi as a RunError, which
    the engine prints as its message alone: no "unhandled exception", no Python traceback."""
    from flashdrive.buildpack.errors import BuildpackError
    from flashdrive.spec import load_spec

    from flashdrive.model.preview import CONFIG_KEY, preview_number

    try:
        number = preview_number(preview, f"stack config {CONFIG_KEY}") if preview not in (None, "") else None
        loaded = load_spec(spec_path, overlay_path)
    except InputError as exc:
        raise SpecError("\n".join(p.format() for p in exc.problems)) from None
    for warning in loaded.warnings:
        pulumi.log.warn(warning.format())
    try:
        if number is None:
            build_stack(loaded)
        else:
            build_stack(loaded, preview=number)
    except pulumi.RunError:
        raise
    except InputError as exc:
        raise SpecError("\n".join(p.format() for p in exc.problems)) from None
    except BuildpackError as exc:
        raise SpecError(str(exc)) from None
    except OSError as exc:  # a source folder or CA bundle that cannot be read, a context not writable
        raise SpecError(f"{loaded.file}: error: {exc.filename or ''}: {exc.strerror or exc}") from None
