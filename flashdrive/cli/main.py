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
# takes the parsed args and returns an exit code. The commands each module registers are listed
# here so that a command line naming one imports only its module (tests/test_cold_start.py checks
# the lists against what the modules register).
COMMAND_MODULES = {
    "flashdrive.cli.spec_commands": ("validate", "schema"),
    "flashdrive.cli.buildpack_commands": ("detect", "dockerfile", "init"),
    "flashdrive.cli.plan_command": ("plan",),
    "flashdrive.cli.diff_command": ("diff",),
    "flashdrive.cli.stack_commands": ("up", "preview", "destroy", "outputs"),
    "flashdrive.cli.backup_commands": ("backup",),
    "flashdrive.cli.operation_commands": ("ps", "logs", "run", "exec", "restart"),
    "flashdrive.cli.previews_commands": ("previews",),
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `argv`, only the module of the command it names (and what
    that module imports: a cold `flashdrive plan` loads no diff, backup or operation code).
    Without a known command in `argv` (`--help` first, a typo), every command, for the help and
    the error."""
    parser = argparse.ArgumentParser(
        prog="flashdrive",
        description="Compile flashdrive.yaml into Pulumi infrastructure on Docker or Kubernetes.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    named = _named_command(argv)
    for name, commands in COMMAND_MODULES.items():
        if named is None or named in commands:
            importlib.import_module(name).register(subparsers)
    return parser


def _named_command(argv: Sequence[str] | None) -> str | None:
    """The command `argv` names, if it names one: its first word. The top-level parser takes no
    option but --help, which shows every command, so an option first names none."""
    first = next(iter(argv or ()), None)
    known = {command for commands in COMMAND_MODULES.values() for command in commands}
    return first if first in known else None


def print_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        print(problem.format(), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    # A command is short-lived and what it allocates (modules, the spec, a plan) mostly lives until
    # it ends, so automatic cyclic collections during its imports only walk the same objects again:
    # a tenth of a cold `flashdrive plan`. Paused for the command and restored after it, for
    # in-process callers; the plan's capture still collects once at its end.
    collecting = gc.isenabled()
    long_running = bool(argv is not None and {"-f", "--follow", "up", "run", "exec", "restart"} & set(argv)) or (
        argv is None and {"-f", "--follow", "up", "run", "exec", "restart"} & set(sys.argv[1:])
    )
    if not long_running:  # following logs or deploying can run for hours: those keep collecting
        gc.disable()
    try:
        return _run(argv)
    finally:
        if collecting:
            gc.enable()


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
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
