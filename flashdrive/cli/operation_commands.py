"""`flashdrive ps|logs|run|exec|restart`: day-2 operations on a deployed stack.

Thin handlers: the work is in flashdrive/operations/. On a `backend: kubernetes` stack each
prints the kubectl command that does the same, and exits 0 without touching anything.
"""

from __future__ import annotations

import argparse
import sys

from flashdrive.cli.deployed import add_deployed_argument, deprecated_stack_note
from flashdrive.cli.main import EXIT_OK


def register(subparsers) -> None:
    def add(name: str, text: str, handler, *, app: str | None = None, command: bool = False):
        parser = subparsers.add_parser(name, help=text, description=f"{text[0].upper()}{text[1:]}.")
        if app == "optional":
            parser.add_argument("app", nargs="?", metavar="APP", help="one app (default: every app)")
        elif app:
            parser.add_argument("app", metavar=app)
        add_deployed_argument(parser, spec="--spec")
        parser.add_argument(
            "--spec", metavar="FILE", help="the spec that names the stack and its backend (default: ./flashdrive.yaml)"
        )
        if command:
            parser.add_argument(
                "command", nargs=argparse.REMAINDER, metavar="-- CMD", help="the command and its arguments, after --"
            )
        parser.set_defaults(handler=handler, operation_name=name)
        return parser

    ps = add("ps", "every container of a deployed stack: state, health, restarts, uptime, image, size", run_ps)
    ps.add_argument("--json", action="store_true", help="one JSON document, with every field")
    logs = add("logs", "the copies' logs merged in time order, prefixed `web.1 |`", run_logs, app="optional")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing until interrupted, across copies a deploy replaces"
    )
    logs.add_argument("--since", metavar="WHEN", help="only lines since a duration ago (30s, 10m, 2h, 1d) or a time")
    logs.add_argument("--tail", type=_count, metavar="N", help="only the last N lines of each copy")
    add(
        "run",
        "run a command in a one-off container of an app (its image, env, networks, disks, size); "
        "exits with the command's code",
        run_run,
        app="APP",
        command=True,
    )
    add(
        "exec",
        "run a command inside a running copy (the first one unless APP.N names it)",
        run_exec,
        app="APP[.N]",
        command=True,
    )
    add("restart", "restart an app's copies one at a time, each healthy before the next", run_restart, app="APP")


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of lines")
    return int(text)


def _command(args: argparse.Namespace) -> list[str]:
    """The words after APP: our own options first (`--deployed S`, `--spec F`), then `--`, then the command.

    argparse's REMAINDER takes everything after APP, options included, so they are read here.
    """
    words = list(args.command or [])
    while words and words[0] != "--":
        option, equals, value = words[0].partition("=")
        if option not in ("--deployed", "--stack", "--spec"):
            break
        if not equals:
            if len(words) < 2:
                print(f"flashdrive: error: {option} needs a value", file=sys.stderr)
                raise SystemExit(2)
            value, words = words[1], words[1:]
        if option == "--stack":  # the old spelling of --deployed
            print(deprecated_stack_note(f"flashdrive {args.operation_name}"), file=sys.stderr)
            option = "--deployed"
        setattr(args, option[2:], value)
        words = words[1:]
    return words[1:] if words[:1] == ["--"] else words


def _stack(args: argparse.Namespace):
    """(target, deployed stack or None on kubernetes)."""
    from flashdrive.operations.engine import connect
    from flashdrive.operations.stack import DeployedStack, resolve_target

    target = resolve_target(args.deployed, args.spec)
    if target.backend == "kubernetes":
        return target, None
    return target, DeployedStack(connect(), target.stack)


def _kubectl(text: str) -> int:
    print("# a kubernetes stack: this kubectl command does it", file=sys.stderr)
    print(text)
    return EXIT_OK


def run_ps(args: argparse.Namespace) -> int:
    from flashdrive.operations import kubectl, ps

    target, stack = _stack(args)
    if stack is None:
        return _kubectl(kubectl.ps(target.stack, target.namespace))
    rows = ps.collect(stack)
    sys.stdout.write(ps.render_json(stack.name, rows) if args.json else ps.render_text(stack.name, rows))
    return EXIT_OK


def run_logs(args: argparse.Namespace) -> int:
    from flashdrive.operations import kubectl, logs

    since = logs.parse_since(args.since)
    target, stack = _stack(args)
    if stack is None:
        return _kubectl(
            kubectl.logs(target.stack, target.namespace, args.app, follow=args.follow, since=args.since, tail=args.tail)
        )
    try:
        logs.show(stack, args.app, since=since, tail=args.tail, follow=args.follow)
    except KeyboardInterrupt:  # the way to end -f
        pass
    return EXIT_OK


def run_run(args: argparse.Namespace) -> int:
    from flashdrive.operations import kubectl, runner

    command = _command(args)
    target, stack = _stack(args)
    if stack is None:
        return _kubectl(kubectl.run(target.stack, target.namespace, args.app, command))
    try:
        return runner.run(stack, args.app, command)
    except KeyboardInterrupt:
        return 130


def run_exec(args: argparse.Namespace) -> int:
    from flashdrive.operations import kubectl, runner
    from flashdrive.operations.stack import parse_app_node

    app, node = parse_app_node(args.app)
    command = _command(args)
    target, stack = _stack(args)
    if stack is None:
        return _kubectl(kubectl.exec_(target.stack, target.namespace, app, node, command))
    try:
        return runner.exec_in(stack, stack.copy(app, node), command)
    except KeyboardInterrupt:
        return 130


def run_restart(args: argparse.Namespace) -> int:
    from flashdrive.operations import kubectl, restart

    target, stack = _stack(args)
    if stack is None:
        return _kubectl(kubectl.restart(target.stack, target.namespace, args.app))
    restart.restart(stack, args.app)
    return EXIT_OK
