"""`detect`: everything the build needs to know about an app folder, or one error that says how to fix it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from msgspec import Struct

from flashdrive.buildpack.aptfile import read_aptfile
from flashdrive.buildpack.dependencies import PIPENV, Dependencies, detect_package_manager, read_dependencies
from flashdrive.buildpack.django import DjangoInfo, detect_django
from flashdrive.buildpack.dockerignore import dockerignore_patterns, is_excluded
from flashdrive.buildpack.errors import BuildpackError
from flashdrive.buildpack.procfile import Procfile, read_procfile, runs_gunicorn
from flashdrive.buildpack.python_version import detect_python_version


class Detection(Struct, frozen=True):
    app_dir: Path
    python_version: str  # "3.12" (X.Y): the base image tag uses this
    python_full_version: str | None  # "3.12.4" when a file pinned a patch version
    python_version_source: str  # "runtime.txt" | ".python-version" | "Pipfile.lock" | "default"
    package_manager: str  # "pip" | "pipenv" | "poetry" | "uv"
    dependency_files: tuple[str, ...]  # what the install step needs, relative to app_dir, posix
    processes: dict[str, str]  # Procfile process types in file order, without release
    release: str | None
    django: DjangoInfo | None
    dependencies: frozenset[str]  # PEP 503 names of what the install puts in the image (locks: transitive too)
    warnings: tuple[str, ...]
    # A dependency is the app's own folder (`-e .`, a path dependency): the install must run after the
    # source is copied, so code changes reinstall the dependencies.
    installs_app_source: bool = False
    apt_packages: tuple[str, ...] = ()  # the Aptfile's Debian packages, installed in both build stages

    def to_json(self) -> dict[str, Any]:
        """The `flashdrive detect --json` document (CLI.md)."""
        return {
            "python_version": self.python_version,
            "python_version_source": self.python_version_source,
            "package_manager": self.package_manager,
            "processes": dict(self.processes),
            "release": self.release,
            "django": None
            if self.django is None
            else {
                "manage_py": self.django.manage_py,
                "collectstatic": self.django.collectstatic,
                "wsgi_module": self.django.wsgi_module,
            },
            "warnings": list(self.warnings),
        }


_VENV_DIRS = (".venv", "venv")


def detect(app_dir: Path, *, build_env: Mapping[str, str] = {}) -> Detection:
    """Detect how to build the app in `app_dir`. Raises BuildpackError naming the fix.

    `build_env` holds the env vars the build sees (DISABLE_COLLECTSTATIC, DJANGO_SETTINGS_MODULE).
    """
    app_dir = Path(app_dir)
    if not app_dir.exists():
        raise BuildpackError(
            f"the app folder {app_dir} does not exist",
            hint="point at the folder that holds the app's Procfile and requirements.txt",
        )
    if not app_dir.is_dir():
        raise BuildpackError(
            f"{app_dir} is a file, but the app source must be a folder",
            hint="point at the folder that holds the app's Procfile and requirements.txt",
        )
    warnings: list[str] = []
    ignore_patterns, own_dockerignore = dockerignore_patterns(app_dir)
    _check_committed_virtualenv(app_dir, ignore_patterns, own_dockerignore)

    manager = detect_package_manager(app_dir)
    python, python_warnings = detect_python_version(app_dir)
    warnings.extend(python_warnings)
    deps = read_dependencies(app_dir, manager)
    warnings.extend(deps.warnings)
    if manager == PIPENV and python.source == "Pipfile.lock" and python.full_version:
        warnings.append(
            f"Pipfile.lock requires exactly Python {python.full_version}, but the python:{python.version} image "
            "ships the newest patch release and `pipenv install --deploy` refuses any other. Set "
            f'python_version = "{python.version}" (not python_full_version) in Pipfile and run `pipenv lock`.'
        )
    if own_dockerignore:
        _check_dockerignore(app_dir, ignore_patterns, deps, warnings)

    names = frozenset(deps.names)
    django, django_warnings = detect_django(app_dir, build_env, names)
    procfile = _read_procfile(app_dir, django, deps)
    warnings.extend(django_warnings)
    warnings.extend(_process_warnings(procfile))
    web = procfile.processes.get("web")
    if web is not None and runs_gunicorn(web) and "gunicorn" not in names:
        raise BuildpackError(
            f"the web process runs gunicorn, but gunicorn is not in the app's dependencies "
            f"({deps.manifest}), so the image would not have it",
            hint=deps.how_to_add("gunicorn"),
            file=app_dir / "Procfile",
            line=procfile.lines["web"],
        )
    return Detection(
        app_dir=app_dir,
        python_version=python.version,
        python_full_version=python.full_version,
        python_version_source=python.source,
        package_manager=manager,
        dependency_files=tuple(deps.files),
        processes=dict(procfile.processes),
        release=procfile.release,
        django=django,
        dependencies=names,
        warnings=tuple(warnings),
        installs_app_source=deps.installs_app_source,
        apt_packages=read_aptfile(app_dir),
    )


def _check_committed_virtualenv(app_dir: Path, patterns: list[str], own_dockerignore: bool) -> None:
    for name in _VENV_DIRS:
        if not (app_dir / name / "pyvenv.cfg").is_file():
            continue
        if own_dockerignore and is_excluded(patterns, name):
            continue  # the app keeps it out of the build itself
        raise BuildpackError(
            f"{app_dir / name} is a virtualenv inside the app folder; its packages were built for another "
            "machine and would be copied over the ones the build installs",
            hint=f"delete {name}/ from the app folder and add `{name}/` to .gitignore (or list it in .dockerignore); "
            "the build installs the dependencies itself",
            file=app_dir / name / "pyvenv.cfg",
        )


def _check_dockerignore(app_dir: Path, patterns: list[str], deps: Dependencies, warnings: list[str]) -> None:
    for needed in deps.files:
        if is_excluded(patterns, needed):
            raise BuildpackError(
                f".dockerignore excludes {needed}, but the build installs the dependencies from it",
                hint=f"remove the pattern that matches {needed} from .dockerignore, or add a line `!{needed}`",
                file=app_dir / ".dockerignore",
            )
    if is_excluded(patterns, ".flashdrive/ca.pem"):
        warnings.append(
            ".dockerignore excludes .flashdrive/, where flashdrive puts build inputs such as the "
            "CA bundle; add a line `!.flashdrive` to it."
        )


def _read_procfile(app_dir: Path, django: DjangoInfo | None, deps: Dependencies) -> Procfile:
    path = app_dir / "Procfile"
    if path.is_file():
        return read_procfile(path)
    for other in sorted(app_dir.iterdir()):
        if other.name.lower() in ("procfile", "procfile.txt") and other.name != "Procfile":
            raise BuildpackError(
                f"{app_dir} has {other.name} but no Procfile; the name is case-sensitive and has no extension",
                hint=f"rename {other.name} to Procfile",
                file=other,
            )
    gunicorn_missing = "gunicorn" not in deps.names
    if django is not None:
        project = django.wsgi_module or f"{(django.settings_module or 'myproject').split('.', 1)[0]}.wsgi"
        also = f"; then {deps.how_to_add('gunicorn')}" if gunicorn_missing else ""
        raise BuildpackError(
            f"{app_dir} is a Django app without a Procfile, so flashdrive does not know how to start it",
            hint=f"create {path} containing the line `web: gunicorn {project}`{also}",
        )
    raise BuildpackError(
        f"{app_dir} has no Procfile, so flashdrive does not know which processes to start",
        hint=f"create {path} with one line per process, e.g. `web: gunicorn myapp.wsgi` or `worker: python worker.py`",
    )


_LOOPBACK_BIND = re.compile(r"(?:--bind[= ]|-b\s*)['\"]?(127\.0\.0\.1|localhost)\b")


def _process_warnings(procfile: Procfile) -> list[str]:
    warnings = []
    for name, command in procfile.processes.items():
        if runs_gunicorn(command) and _LOOPBACK_BIND.search(command):
            warnings.append(
                f"Procfile:{procfile.lines[name]}: process '{name}' binds gunicorn to localhost, which nothing "
                "outside the container can reach; drop the --bind option (flashdrive binds 0.0.0.0:$PORT)."
            )
        if "manage.py runserver" in command:
            warnings.append(
                f"Procfile:{procfile.lines[name]}: process '{name}' runs Django's development server, which is "
                "not made for production; use `gunicorn <project>.wsgi`."
            )
    return warnings
