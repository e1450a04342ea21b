"""`flashdrive previews list|prepare|remove|comment`: what the preview-env workflow asks about preview stacks.

`list` prints the `pr-N` stacks, one `STACK NUMBER` line each (`--expired`: those idle for
`previews.expire_after_days` of the spec, or `--older-than-days`), for the workflow to destroy;
`prepare` gives a runner the preview stack's config (flashdrive:preview, the base's master key);
`remove` forgets a destroyed one (never a stack not named pr-N); `comment` prints the pull
request's preview comment, marked so that the workflow finds and updates the same one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from flashdrive.cli.main import EXIT_INPUT, EXIT_OK, EXIT_USAGE
from flashdrive.cli.stack_commands import pulumi_stack_name

PUBLISH_ADDRESS_VARIABLE = "FLASHDRIVE_PUBLISH_ADDRESS"  # the preview-env workflow sets it from a variable

DEFAULT_SPEC = "flashdrive.yaml"


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is below 1")
    return number


def register(subparsers) -> None:
    previews = subparsers.add_parser(
        "previews",
        help="the preview stacks (pr-N) of pull requests: list, expired ones, remove, PR comment",
        description="What the preview-env workflow asks about the preview stacks of pull requests. Reads the same "
        "state backend as `flashdrive up` (PULUMI_BACKEND_URL, else Pulumi.yaml's backend, else "
        ".flashdrive/state/ under the project).",
    )
    actions = previews.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list",
        help="the preview stacks, one `STACK NUMBER` line each",
        description="List the pr-N stacks of the project, one `STACK NUMBER` line each. --expired keeps those whose "
        "last deploy is older than previews.expire_after_days of the spec (or --older-than-days).",
    )
    listing.add_argument(
        "spec_path",
        nargs="?",
        default=None,
        metavar="SPEC",
        help="the spec whose previews.expire_after_days applies (default: flashdrive.yaml in DIR)",
    )
    listing.add_argument("--expired", action="store_true", help="only the previews idle for their expiry or longer")
    listing.add_argument(
        "--older-than-days",
        type=_positive,
        metavar="N",
        help="the expiry: N days without a deploy, whatever the spec says",
    )
    listing.add_argument("--pull-request", type=_positive, metavar="NUMBER", help="only the preview of this one")
    listing.add_argument("-C", "--cwd", default=".", metavar="DIR", help="the project folder (default: .)")
    listing.add_argument("--json", action="store_true", help="each preview with its last deploy and idle time")
    listing.set_defaults(handler=run_list)

    remove = actions.add_parser(
        "remove",
        help="forget a destroyed preview stack (pulumi stack rm); pr-N stacks only",
        description="Remove a preview stack from the state backend once `flashdrive destroy` emptied it. Refuses "
        "any stack not named pr-N, and a stack that still has resources.",
    )
    remove.add_argument("stack", metavar="STACK", help="the preview's Pulumi stack, pr-N")
    remove.add_argument("-C", "--cwd", default=".", metavar="DIR", help="the project folder (default: .)")
    remove.set_defaults(handler=run_remove)

    prepare = actions.add_parser(
        "prepare",
        help="create stack pr-N if missing, with flashdrive:preview N and the base's master key",
        description="Make the stack pr-N ready for `flashdrive up|destroy --stack pr-N --preview N` on a runner that "
        "starts without its stack file: created if missing, flashdrive:preview set to N, and the "
        "master key of the base stack copied in (never on a command line; an existing key is kept).",
    )
    prepare.add_argument("pull_request", type=_positive, metavar="NUMBER", help="the pull request's number")
    prepare.add_argument(
        "--base",
        required=True,
        type=pulumi_stack_name,
        metavar="STACK",
        help="the base's Pulumi stack, whose config holds the master key (e.g. dev)",
    )
    prepare.add_argument(
        "--publish-address",
        type=_address,
        metavar="IP",
        default=os.environ.get(PUBLISH_ADDRESS_VARIABLE) or None,
        help="the Docker host address the preview's edge publishes 80/443 on (stack config "
        "flashdrive:publishAddress; the base's edge holds them on its host); default: "
        f"${PUBLISH_ADDRESS_VARIABLE}, else left as the stack has it",
    )
    prepare.add_argument(
        "--spec",
        metavar="FILE",
        help="the spec to deploy: the preview stack must have every {config: KEY} it reads "
        "(checked, never copied; without --spec, nothing is checked, as for a destroy)",
    )
    prepare.add_argument("-C", "--cwd", default=".", metavar="DIR", help="the project folder (default: .)")
    prepare.set_defaults(handler=run_prepare)

    comment = actions.add_parser(
        "comment",
        help="print the pull request comment of its preview (markdown)",
        description="Print the one comment a pull request gets about its preview, with a hidden marker that "
        "finds it again: its URLs once deployed, or that it was destroyed or expired.",
    )
    comment.add_argument("pull_request", type=_positive, metavar="NUMBER", help="the pull request's number")
    comment.add_argument("--state", choices=("deployed", "failed", "destroyed", "expired"), default="deployed")
    comment.add_argument(
        "--outputs", metavar="FILE", help="the preview's `flashdrive outputs --json` (its URLs), for --state deployed"
    )
    comment.add_argument("--commit", metavar="SHA", help="the commit deployed")
    comment.add_argument("--log", metavar="URL", help="where the failed deploy's log is (the workflow run)")
    comment.add_argument("--spec", metavar="FILE", help="the spec whose previews.expire_after_days the comment states")
    comment.set_defaults(handler=run_comment)


def expire_after_days(spec_path: str | Path) -> int:
    """`previews.expire_after_days` of a spec (InputError, shown as FILE:LINE:COL, when it is invalid)."""
    from flashdrive.spec import load_spec

    loaded = load_spec(spec_path)
    return int(loaded.spec.previews.expire_after_days)


def run_list(args: argparse.Namespace) -> int:
    from flashdrive.automation import AutomationError, resolve_settings
    from flashdrive.automation.previews import list_previews

    days = args.older_than_days
    if days is None and (args.expired or args.json):
        spec = args.spec_path or os.path.join(args.cwd, DEFAULT_SPEC)
        if os.path.isfile(spec):
            days = expire_after_days(spec)
        elif args.expired:
            print(
                f"flashdrive previews list: error: {spec}: no such file; name the spec whose "
                "previews.expire_after_days applies, or give --older-than-days N",
                file=sys.stderr,
            )
            return EXIT_USAGE
    try:
        previews = list_previews(resolve_settings(args.cwd))
    except AutomationError as exc:
        print(f"flashdrive previews list: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    now = datetime.now(timezone.utc)
    if args.pull_request is not None:
        previews = [p for p in previews if p.pull_request == args.pull_request]
    if args.expired:
        assert days is not None
        previews = [p for p in previews if p.expired(now, days)]
    if args.json:
        print(json.dumps({"expire_after_days": days, "previews": [p.to_json(now, days) for p in previews]}, indent=2))
    else:
        for preview in previews:
            print(f"{preview.stack} {preview.pull_request}")
    return EXIT_OK


def _address(value: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an IP address: give an address of the Docker host, e.g. --publish-address 10.0.0.12"
        ) from None


def run_prepare(args: argparse.Namespace) -> int:
    from flashdrive.automation import AutomationError, resolve_settings
    from flashdrive.automation.previews import prepare_preview, preview_config_keys, preview_stack_name
    from flashdrive.spec import load_spec

    # Checked for a deploy only (the workflow names the spec there): a destroy needs no config.
    if args.spec and not os.path.isfile(args.spec):
        print(f"flashdrive previews prepare: error: {args.spec}: no such file", file=sys.stderr)
        return EXIT_USAGE
    keys = preview_config_keys(load_spec(args.spec).spec) if args.spec else []
    try:
        settings = resolve_settings(args.cwd, preview_stack_name(args.pull_request), preview=args.pull_request)
        for line in prepare_preview(
            settings, args.pull_request, args.base, publish_address=args.publish_address, config_keys=keys
        ):
            print(line)
    except AutomationError as exc:
        print(f"flashdrive previews prepare: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK


def run_remove(args: argparse.Namespace) -> int:
    from flashdrive.automation import AutomationError, resolve_settings
    from flashdrive.automation.previews import remove_preview

    try:
        removed = remove_preview(resolve_settings(args.cwd), args.stack)
    except AutomationError as exc:
        print(f"flashdrive previews remove: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(f"removed stack {args.stack}" if removed else f"no stack {args.stack}: nothing to remove")
    return EXIT_OK


def run_comment(args: argparse.Namespace) -> int:
    from flashdrive.automation.previews import comment_body

    urls = None
    if args.outputs is not None:
        try:
            outputs = json.loads(Path(args.outputs).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(
                f"flashdrive previews comment: error: {args.outputs}: cannot be read as the JSON of "
                f"`flashdrive outputs --json`: {exc}",
                file=sys.stderr,
            )
            return EXIT_INPUT
        found = outputs.get("urls") if isinstance(outputs, dict) else None
        urls = {str(k): str(v) for k, v in found.items() if v} if isinstance(found, dict) else {}
    elif args.state == "deployed":
        print("flashdrive previews comment: error: --state deployed needs --outputs FILE (its URLs)", file=sys.stderr)
        return EXIT_USAGE
    days = expire_after_days(args.spec) if args.spec else None
    sys.stdout.write(
        comment_body(args.pull_request, args.state, urls=urls, commit=args.commit, expire_after_days=days, log=args.log)
    )
    return EXIT_OK
