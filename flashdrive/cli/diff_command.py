"""`flashdrive diff BASE HEAD`: what changes between two plans, and a loud stop when data would be lost.

Exit codes: 0 ok, 1 a side is wrong (missing file, invalid spec, not a plan), 2 usage,
3 the change deletes, replaces or endangers something that holds data (unless --allow-data-loss).
"""

from __future__ import annotations

import argparse
import sys

from flashdrive.cli.main import EXIT_OK

EXIT_DATA_LOSS = 3
FORMATS = ("text", "markdown")


def register(subparsers) -> None:
    diff = subparsers.add_parser(
        "diff",
        help="compare two plans (plan JSON files or specs); exit 3 if data would be lost",
        description="Compare BASE (what is deployed) with HEAD (what will be): for each resource, create, update, "
        "replace or delete, with the inputs that change (secrets masked). A change that deletes or "
        "replaces a disk, a database's data, the edge's certificates or the backup repository exits 3.",
    )
    diff.add_argument("base", metavar="BASE", help="plan JSON (flashdrive plan --format json) or a flashdrive.yaml")
    diff.add_argument("head", metavar="HEAD", help="plan JSON or a flashdrive.yaml")
    diff.add_argument("--format", choices=FORMATS, default="text", help="text (default) or markdown (a PR comment)")
    diff.add_argument(
        "--allow-data-loss",
        action="store_true",
        help="report data loss as a warning and exit 0 (someone decided the data may go)",
    )
    diff.add_argument(
        "--stack", default="dev", metavar="NAME", help="the Pulumi stack name a spec is planned for (default: dev)"
    )
    diff.set_defaults(handler=run_diff)


def run_diff(args: argparse.Namespace) -> int:
    from flashdrive.diff import check, diff_plans, load_side, render_markdown, render_text

    base, head = (load_side(path, stack=args.stack) for path in (args.base, args.head))
    diff = diff_plans(base.plan, head.plan)
    report = check(diff)
    render = render_markdown if args.format == "markdown" else render_text
    sys.stdout.write(
        render(diff, report, base_label=base.label, head_label=head.label, allow_data_loss=args.allow_data_loss)
    )
    sys.stdout.flush()
    if not report.loses_data:
        return EXIT_OK
    count = len(report.findings)
    what = f"{count} data holder{'s' if count != 1 else ''} ({', '.join(f.holder.label for f in report.findings)})"
    if args.allow_data_loss:
        print(
            f"flashdrive diff: warning: this change {report.action} {what}; allowed by --allow-data-loss",
            file=sys.stderr,
        )
        return EXIT_OK
    print(
        f"flashdrive diff: error: this change {report.action} {what}; "
        f"run again with --allow-data-loss if that is intended",
        file=sys.stderr,
    )
    return EXIT_DATA_LOSS
