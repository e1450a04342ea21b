"""The buildpack: detect how to build a Python app folder and write its Dockerfile.

Like heroku-buildpack-python: a Procfile plus requirements.txt (or Pipfile.lock, poetry.lock,
uv.lock), a Python version from runtime.txt / .python-version / Pipfile.lock, Django's
collectstatic at build. Every problem is a BuildpackError that names the fix.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flashdrive.buildpack.detection import Detection, detect
    from flashdrive.buildpack.django import DjangoInfo
    from flashdrive.buildpack.dockerfile import default_base_image, default_build_image, render_dockerfile
    from flashdrive.buildpack.dockerignore import default_dockerignore
    from flashdrive.buildpack.errors import BuildpackError
    from flashdrive.buildpack.gitignore import gitignore_as_dockerignore
    from flashdrive.buildpack.procfile import procfile_command, runs_gunicorn
    from flashdrive.buildpack.python_version import DEFAULT_PYTHON_VERSION, SUPPORTED_PYTHON_VERSIONS

# Each name from the module that defines it, imported on first use: a plan of prebuilt images, or
# a module that needs one constant (flashdrive.buildpack.build_context), never loads the detectors.
_HOMES = {
    "Detection": "detection",
    "detect": "detection",
    "DjangoInfo": "django",
    "default_base_image": "dockerfile",
    "default_build_image": "dockerfile",
    "render_dockerfile": "dockerfile",
    "default_dockerignore": "dockerignore",
    "BuildpackError": "errors",
    "gitignore_as_dockerignore": "gitignore",
    "procfile_command": "procfile",
    "runs_gunicorn": "procfile",
    "DEFAULT_PYTHON_VERSION": "python_version",
    "SUPPORTED_PYTHON_VERSIONS": "python_version",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "BuildpackError",
    "DEFAULT_PYTHON_VERSION",
    "SUPPORTED_PYTHON_VERSIONS",
    "Detection",
    "DjangoInfo",
    "default_base_image",
    "default_build_image",
    "default_dockerignore",
    "detect",
    "gitignore_as_dockerignore",
    "procfile_command",
    "render_dockerfile",
    "runs_gunicorn",
]
