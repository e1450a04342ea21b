"""`flashdrive detect`, `flashdrive dockerfile` and `flashdrive init`: the buildpack on the command line."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from flashdrive.problems import InputError, Mark, Problem
from flashdrive.spec.contract import ENV_NAME
from flashdrive.spec.schema import schema_text

if TYPE_CHECKING:
    from flashdrive.buildpack import Detection

# The buildpack is imported by the commands that use it, not by every `flashdrive` start-up.

SPEC_FILE = "flashdrive.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    detect_parser = subparsers.add_parser(
        "detect",
        help="show what the buildpack finds in an app folder",
        description="Show how flashdrive will build an app folder: Python version, package manager, "
        "Procfile processes, release command and Django settings.",
    )
    detect_parser.add_argument(
        "app_dir", metavar="APP_DIR", type=Path, help="the app folder (Procfile, requirements.txt, ...)"
    )
    detect_parser.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_build_env(detect_parser)
    detect_parser.set_defaults(handler=_detect_command)

    dockerfile_parser = subparsers.add_parser(
        "dockerfile",
        help="print the Dockerfile the build will use for an app folder",
        description="Print the Dockerfile flashdrive generates for an app folder.",
    )
    dockerfile_parser.add_argument("app_dir", metavar="APP_DIR", type=Path, help="the app folder")
    _add_build_env(dockerfile_parser)
    dockerfile_parser.set_defaults(handler=_dockerfile_command)

    init_parser = subparsers.add_parser(
        "init",
        help="write a starter flashdrive.yaml for an app folder",
        description="Detect the app in APP_DIR and write a starter flashdrive.yaml in the current folder.",
    )
    init_parser.add_argument(
        "app_dir",
        metavar="APP_DIR",
        type=Path,
        nargs="?",
        default=Path("."),
        help="the app folder (default: the current folder)",
    )
    init_parser.add_argument("--force", action="store_true", help=f"overwrite an existing {SPEC_FILE}")
    init_parser.set_defaults(handler=_init_command)


def _env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    if not re.match(ENV_NAME, name):
        raise argparse.ArgumentTypeError(
            f"{name!r} is not an environment variable name: letters, digits and '_', not starting with a digit"
        )
    return name, value


def _add_build_env(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--build-env",
        metavar="NAME=VALUE",
        action="append",
        type=_env_pair,
        default=[],
        help="an env var the build sees, e.g. DISABLE_COLLECTSTATIC=1 (repeatable)",
    )


def _detected(app_dir: Path, build_env: dict[str, str] | None = None) -> Detection:
    from flashdrive.buildpack import detect

    return detect(app_dir, build_env=build_env or {})


def _print_warnings(detection: Detection) -> None:
    for warning in detection.warnings:
        print(Problem(warning, severity="warning").format(), file=sys.stderr)


def _detect_command(args: argparse.Namespace) -> int:
    detection = _detected(args.app_dir, dict(args.build_env))
    if args.json:
        print(json.dumps(detection.to_json(), indent=2))
    else:
        print(describe(detection), end="")
    return 0


def describe(detection: Detection) -> str:
    """A readable summary of a detection, for `flashdrive detect` without --json."""
    from flashdrive.buildpack.dependencies import MANAGER_FILES

    python = detection.python_version
    if detection.python_full_version:
        python += f" ({detection.python_full_version} pinned)"
    origin = "the default" if detection.python_version_source == "default" else detection.python_version_source
    width = max(len(name) for name in detection.processes) + 1
    lines = [
        f"App folder:       {detection.app_dir}",
        f"Python:           {python}, from {origin}",
        f"Package manager:  {detection.package_manager} ({', '.join(detection.dependency_files) or MANAGER_FILES[detection.package_manager]})",
        "Processes:",
        *(f"  {(name + ':').ljust(width)} {command}" for name, command in detection.processes.items()),
        f"Release:          {detection.release or 'none'}",
    ]
    django = detection.django
    if django is None:
        lines.append("Django:           no (no manage.py)")
    else:
        lines.append(
            f"Django:           {django.manage_py}, settings {django.settings_module or 'unknown'}, "
            f"WSGI module {django.wsgi_module or 'unknown'}"
        )
        lines.append(f"Collectstatic:    {'at build' if django.collectstatic else 'skipped'}")
    if detection.warnings:
        lines.append("Warnings:")
        lines += [f"  - {warning}" for warning in detection.warnings]
    return "\n".join(lines) + "\n"


def _dockerfile_command(args: argparse.Namespace) -> int:
    from flashdrive.buildpack import render_dockerfile

    build_env = dict(args.build_env)
    detection = _detected(args.app_dir, build_env)
    _print_warnings(detection)
    print(render_dockerfile(detection, build_args=sorted(build_env)), end="")
    return 0


def _init_command(args: argparse.Namespace, *, cwd: Callable[[], Path] = Path.cwd) -> int:
    from flashdrive.buildpack.app_json import read_app_json
    from flashdrive.buildpack.starter import SCHEMA_FILE, render_starter, source_path, stack_name_for_folder, summary

    here = cwd()
    target = here / SPEC_FILE
    if target.exists() and not args.force:
        raise InputError(
            [
                Problem(
                    f"{SPEC_FILE} already exists here; init does not overwrite a spec",
                    mark=Mark(SPEC_FILE, 1, 1),
                    hint=f"run `flashdrive init {args.app_dir} --force` to replace it, or edit it by hand",
                )
            ]
        )
    detection = _detected(args.app_dir)
    _print_warnings(detection)
    app_json = read_app_json(args.app_dir)
    stack = stack_name_for_folder(args.app_dir, here)
    source = source_path(args.app_dir, here)
    try:
        target.write_text(render_starter(detection, source=source, stack=stack, app_json=app_json), encoding="utf-8")
        # The spec's $schema points here: written beside it, from this flashdrive's own model.
        (here / SCHEMA_FILE).write_text(schema_text(), encoding="utf-8")
    except OSError as exc:
        raise InputError([Problem(f"cannot write {SPEC_FILE}: {exc.strerror}", mark=Mark(SPEC_FILE, 1, 1))]) from None
    print(
        f"Wrote {SPEC_FILE} (and {SCHEMA_FILE}, for editors) for {source}: "
        f"{summary(detection, stack=stack, app_json=app_json)}."
    )
    print("Next: review it, then run `flashdrive validate`.")
    return 0
