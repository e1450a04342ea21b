"""`flashdrive plan`: run the Pulumi program offline and print every resource it declares."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from flashdrive.cli.main import EXIT_OK, print_problems
from flashdrive.cli.stack_commands import pull_request

if TYPE_CHECKING:
    from flashdrive.pipeline import Checked
    from flashdrive.problems import Problem

FORMATS = ("text", "json", "markdown", "mermaid", "yaml")  # flashdrive.plan.render.FORMATS, without importing Pulumi


def register(subparsers) -> None:
    plan = subparsers.add_parser(
        "plan",
        help="run the Pulumi program offline and print every resource it declares",
        description="Run the Pulumi program offline (no Pulumi CLI, no provider, no config values needed) "
        "and print every resource it registers, with inputs and options; secrets show as [secret].",
    )
    plan.add_argument("spec", nargs="?", default="flashdrive.yaml", metavar="SPEC")
    plan.add_argument("--overlay", metavar="FILE", help="a second file deep-merged over SPEC")
    plan.add_argument("--backend", choices=("docker", "kubernetes"), help="override the spec's backend")
    plan.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    plan.add_argument(
        "--preview",
        type=pull_request,
        metavar="N",
        help="plan the preview of pull request N: stack <stack>-pr-N, its seed and dropped domains",
    )
    plan.add_argument(
        "--stack", default="dev", metavar="NAME", help="the Pulumi stack name the URNs are built from (default: dev)"
    )
    plan.set_defaults(handler=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    from flashdrive.plan.planner import plan_spec
    from flashdrive.plan.render import render

    warnings: list[Problem] = []

    def print_warnings(checked: Checked) -> None:
        warnings.extend(checked.loaded.warnings)
        print_problems(warnings)

    plan = plan_spec(
        args.spec, args.overlay, backend=args.backend, stack=args.stack, preview=args.preview, checked=print_warnings
    )

    # What the program logged (pulumi.log.warn/error), minus the spec warnings already printed.
    shown = {p.format() for p in warnings}
    for severity, message in plan.logs:
        if severity in ("warning", "error") and message not in shown:
            first_line = message.split("\n", 1)[0]
            print(message if f"{severity}:" in first_line else f"{severity}: {message}", file=sys.stderr)
    sys.stdout.write(render(plan, args.format))
    return EXIT_OK
