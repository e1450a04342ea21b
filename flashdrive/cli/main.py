"""The `flashdrive` command. Exit codes: 0 ok, 1 the input is wrong, 2 wrong usage (3: diff would lose data)."""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from typing import Sequence

from flashdrive import process
from flashdrive.problems import FlashdriveError, Problem

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2

# Each module registers its sub-commands with `register(subparsers)`; a command's handler
# takes the parsed args and returns an exit code.
COMMAND_MODULES = (
    "flashdrive.cli.spec_commands",
    "flashdrive.cli.buildpack_commands",
    "flashdrive.cli.plan_command",
    "flashdrive.cli.diff_command",
    "flashdrive.cli.stack_commands",
    "flashdrive.cli.backup_commands",
    "flashdrive.cli.operation_commands",
    "flashdrive.cli.previews_commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flashdrive",
        description="Compile flashdrive.yaml into Pulumi infrastructure on Docker or Kubernetes.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def print_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        print(problem.format(), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    # A command is short-lived and what it allocates (modules, the spec, a plan) mostly lives until
    # it ends, so automatic cyclic collections during its imports only walk the same objects again:
    # a tenth of a cold `flashdrive plan`. Paused for the command and restored after it, for
    # in-process callers; the plan's capture still collects once at its end.
    collecting = gc.isenabled()
    long_running = bool(argv is not None and {"-f", "--follow", "up", "run", "exec", "restart"} & set(argv)) \
        or (argv is None and {"-f", "--follow", "up", "run", "exec", "restart"} & set(sys.argv[1:]))
    if not long_running:  # following logs or deploying can run for hours: those keep collecting
        gc.disable()
    try:
        return _run(argv)
    finally:
        if collecting:
            gc.enable()


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except FlashdriveError as exc:  # every error flashdrive explains, handled here once
        print(exc.report(args.command), file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


def entry() -> int:
    """The `flashdrive` console script and `python -m flashdrive`: main(), in a process that ends next."""
    process.ends_after_command = True
    code = main()
    # At exit the interpreter's last garbage collection walks every object left, all about to be
    # freed anyway: a fifth of a cold `flashdrive plan`. Frozen objects are skipped. Only here,
    # never in main(): an in-process caller (the tests) would keep its garbage forever.
    gc.freeze()
    return code


if __name__ == "__main__":
    raise SystemExit(entry())
