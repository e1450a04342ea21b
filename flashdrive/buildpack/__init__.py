"""The buildpack: detect how to build a Python app folder and write its Dockerfile.

Like heroku-buildpack-python: a Procfile plus requirements.txt (or Pipfile.lock, poetry.lock,
uv.lock), a Python version from runtime.txt / .python-version / Pipfile.lock, Django's
collectstatic at build. Every problem is a BuildpackError that names the fix.
"""

from flashdrive.buildpack.detect import Detection, detect
from flashdrive.buildpack.django import DjangoInfo
from flashdrive.buildpack.dockerfile import default_base_image, default_build_image, render_dockerfile
from flashdrive.buildpack.dockerignore import default_dockerignore
from flashdrive.buildpack.errors import BuildpackError
from flashdrive.buildpack.gitignore import gitignore_as_dockerignore
from flashdrive.buildpack.procfile import procfile_command, runs_gunicorn
from flashdrive.buildpack.python_version import DEFAULT_PYTHON_VERSION, SUPPORTED_PYTHON_VERSIONS

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
