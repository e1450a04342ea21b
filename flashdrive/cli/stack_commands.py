"""`flashdrive up|preview|destroy [SPEC] [--stack NAME]` and `outputs`: the stack through the Pulumi CLI.

`--stack` is the Pulumi stack (dev, pr-123), where Pulumi keeps the state of one deployment.

Runs this project's program with the Automation API; state defaults to a file backend under the
project and secrets to a passphrase (PULUMI_CONFIG_PASSPHRASE), so no account is needed.
Exit codes: 0 ok, 1 it cannot run or failed (no Pulumi CLI, no passphrase, a failed update), 2 usage.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from flashdrive.cli.main import EXIT_OK, EXIT_USAGE

_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}$")

HELP = {
    "up": "create or update the stack's resources (pulumi up)",
    "preview": "show what `up` would change, without changing anything (pulumi preview)",
    "destroy": "delete the stack's resources; volumes that hold data are kept (pulumi destroy)",
    "outputs": "print the stack's outputs: URLs and internal addresses (pulumi stack output)",
}


def pulumi_stack_name(value: str) -> str:
    if not _STACK_NAME.match(value):
        raise argparse.ArgumentTypeError(
            f"invalid stack name {value!r}: use letters, digits, '-', '_' and '.', optionally as ORG/PROJECT/STACK"
        )
    return value


def pull_request(value: str) -> int:
    from flashdrive.model.preview import MAX_NUMBER

    if value.isascii() and value.isdigit() and 0 < int(value) < MAX_NUMBER:
        return int(value)
    raise argparse.ArgumentTypeError(f"invalid pull request number {value!r}: give e.g. --preview 123")


def register(subparsers) -> None:
    for operation, text in HELP.items():
        parser = subparsers.add_parser(
            operation,
            help=text,
            description=f"{text[0].upper()}{text[1:]}. Runs this project's Pulumi program through the Pulumi CLI "
            f"(Automation API). State: PULUMI_BACKEND_URL, else Pulumi.yaml's backend, else a file "
            f"backend in .flashdrive/state/ under the project. Secrets: PULUMI_CONFIG_PASSPHRASE.",
        )
        parser.add_argument(
            "--stack", type=pulumi_stack_name, default="dev", metavar="NAME", help="the Pulumi stack (default: dev)"
        )
        parser.add_argument(
            "-C",
            "--cwd",
            default=".",
            metavar="DIR",
            help="the project folder: the spec, Pulumi.yaml and stack files (default: .)",
        )
        if operation == "outputs":
            parser.add_argument("--json", action="store_true", help="print the outputs as one JSON object")
            parser.add_argument("--show-secrets", action="store_true", help="print secret outputs in clear")
        else:
            # SPEC as validate and plan take it (a path from here); --spec FILE is relative to DIR.
            parser.add_argument(
                "spec_path",
                nargs="?",
                default=None,
                metavar="SPEC",
                help="the spec to deploy (default: the stack config flashdrive:spec, else flashdrive.yaml in DIR)",
            )
            parser.add_argument("--spec", metavar="FILE", help="the spec to deploy, relative to DIR")
            parser.add_argument("--overlay", metavar="FILE", help="an overlay deep-merged over the spec")
            parser.add_argument(
                "--preview",
                type=pull_request,
                metavar="N",
                help="the stack is the preview of pull request N (it must be --stack pr-N; seeded "
                "from the base's backups; `up` saves it as the stack config flashdrive:preview)",
            )
        parser.set_defaults(handler=run_stack_command, operation=operation)


def run_stack_command(args: argparse.Namespace) -> int:
    from flashdrive.automation import AutomationError, resolve_settings, run_operation
    from flashdrive.automation.previews import wrong_preview_stack

    positional, spec = getattr(args, "spec_path", None), getattr(args, "spec", None)
    number = getattr(args, "preview", None)
    wrong = wrong_preview_stack(args.stack, number) if number is not None else None
    if wrong:
        # Before anything touches a stack: the default --stack dev would become the preview.
        print(
            f"flashdrive {args.operation}: error: {wrong}; give --stack pr-{number} --preview {number}", file=sys.stderr
        )
        return EXIT_USAGE
    if positional is not None and spec is not None:
        print(
            f"flashdrive {args.operation}: error: the spec is named twice ({positional} and --spec {spec}); give one",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if positional is not None:
        if not os.path.isfile(positional):
            raise AutomationError(f"{positional}: no such file")
        # From the current folder, like `flashdrive validate SPEC`; absolute, so it names the
        # same file once the project folder (-C DIR) is the base.
        spec = os.path.abspath(positional)
    settings = resolve_settings(
        args.cwd, args.stack, spec=spec, overlay=getattr(args, "overlay", None), preview=getattr(args, "preview", None)
    )
    # Build contexts and other relative paths are relative to the project, as with `pulumi up`.
    os.chdir(settings.project_dir)
    run_operation(
        args.operation,
        settings,
        show_secrets=getattr(args, "show_secrets", False),
        as_json=getattr(args, "json", False),
    )
    return EXIT_OK
