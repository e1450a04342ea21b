"""`flashdrive backup list|run|restore|verify` for a docker stack deployed on this host."""

from __future__ import annotations

import argparse
import sys

from flashdrive.cli.deployed import add_deployed_argument
from flashdrive.cli.main import EXIT_INPUT, EXIT_OK


def register(subparsers) -> None:
    backup = subparsers.add_parser(
        "backup",
        help="list, run, restore or verify backups of a deployed docker stack",
        description="Operate the backups of a docker stack deployed on this host.",
    )
    actions = backup.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "spec",
            nargs="?",
            default=None,
            metavar="SPEC",
            help="the stack's flashdrive.yaml (default ./flashdrive.yaml), for its name",
        )
        add_deployed_argument(parser)

    listing = actions.add_parser("list", help="snapshots per disk and database, and the status of each run")
    common(listing)
    listing.set_defaults(handler=run_list)
    run = actions.add_parser("run", help="run a backup now; exits non-zero when it fails")
    common(run)
    run.set_defaults(handler=run_now)
    restore = actions.add_parser("restore", help="restore a disk or database from a snapshot (default: the latest)")
    restore.add_argument("target", metavar="disk:NAME|database:NAME")
    common(restore)
    restore.add_argument("--snapshot", metavar="ID", default="latest", help="snapshot id (default: latest)")
    restore.add_argument("--force", action="store_true", help="replace live data")
    restore.set_defaults(handler=run_restore)
    verify = actions.add_parser(
        "verify",
        help="restore drill: restore the latest snapshot of every disk and database "
        "into scratch containers and check it; exits non-zero when any fails",
    )
    common(verify)
    verify.add_argument("--json", action="store_true", help="the report as JSON")
    verify.set_defaults(handler=run_verify)


def run_list(args: argparse.Namespace) -> int:
    from flashdrive.operations.backups import deployed_stack, list_backups

    sys.stdout.write(list_backups(deployed_stack(args.spec, args.deployed)))
    return EXIT_OK


def run_now(args: argparse.Namespace) -> int:
    from flashdrive.operations.backups import deployed_stack, run_backup

    code = run_backup(deployed_stack(args.spec, args.deployed))
    if code != 0:
        print(f"flashdrive backup: error: the backup failed (exit {code}); see its output above", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK


def run_restore(args: argparse.Namespace) -> int:
    from flashdrive.operations.backups import deployed_stack, restore

    restore(deployed_stack(args.spec, args.deployed), args.target, args.snapshot, args.force)
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    from flashdrive.operations.backup_verify import render, render_json, verify
    from flashdrive.operations.backups import deployed_stack

    items, facts = verify(deployed_stack(args.spec, args.deployed))
    sys.stdout.write(render_json(items, facts) if args.json else render(items, facts))
    return EXIT_OK if all(item.ok for item in items) else EXIT_INPUT
