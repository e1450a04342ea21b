"""`flashdrive validate` and `flashdrive schema`."""

from __future__ import annotations

import argparse
import sys

from flashdrive.cli.main import EXIT_OK, print_problems
from flashdrive.pipeline import check_spec
from flashdrive.spec.schema import schema_text


def register(subparsers) -> None:
    validate = subparsers.add_parser(
        "validate",
        help="check a flashdrive.yaml",
        description="Check a spec; every problem as FILE:LINE:COL: error: KEY.PATH: message.",
    )
    validate.add_argument("spec", nargs="?", default="flashdrive.yaml", metavar="SPEC")
    validate.add_argument("--overlay", metavar="FILE", help="a second file deep-merged over SPEC")
    validate.set_defaults(handler=run_validate)

    schema = subparsers.add_parser("schema", help="print the JSON Schema of flashdrive.yaml")
    schema.set_defaults(handler=run_schema)


def run_validate(args: argparse.Namespace) -> int:
    loaded = check_spec(args.spec, args.overlay).loaded
    print_problems(loaded.warnings)
    spec = loaded.spec
    shown = args.spec + (f" + {args.overlay}" if args.overlay else "")
    print(
        f"{shown}: ok — stack '{spec.stack}', {_count(len(spec.apps), 'app')}, "
        f"{_count(len(spec.databases), 'database')}, backend {spec.backend}"
    )
    return EXIT_OK


def run_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return EXIT_OK


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
