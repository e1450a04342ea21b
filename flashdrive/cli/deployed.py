"""`--deployed NAME`: which deployed stack `backup` and the operations act on.

Two things were called "stack" on the command line: the Pulumi stack (`up --stack dev`, `pr-123`:
where Pulumi keeps a deployment's state) and the deployed stack (the spec's `stack:`, `shop`,
`shop-pr-123`: the name every container, volume and label carries). The Pulumi commands keep
`--stack`; the commands that find a deployed stack on the engine take `--deployed`. Their old
`--stack` still works for one release, with a note on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


class _DeprecatedStack(argparse.Action):
    """`--stack NAME` on a deployed-stack command: kept working, says what replaces it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(deprecated_stack_note(parser.prog), file=sys.stderr)
        setattr(namespace, self.dest, values)


def deprecated_stack_note(command: str) -> str:
    return (
        f"note: `{command} --stack` is now `--deployed` (the deployed stack, the spec's `stack:`); "
        "`--stack` here will be removed in the next release"
    )


def add_deployed_argument(parser: argparse.ArgumentParser, spec: str = "SPEC") -> None:
    """`--deployed NAME` (dest `deployed`), and the old `--stack NAME` as a hidden, noted alias.
    `spec`: the command's argument that names the spec the default is read from."""
    parser.add_argument(
        "--deployed",
        metavar="NAME",
        help="the deployed stack: the spec's `stack:` name, e.g. shop "
        f"or shop-pr-123 (default: the `stack:` of {spec})",
    )
    parser.add_argument("--stack", dest="deployed", metavar="NAME", action=_DeprecatedStack, help=argparse.SUPPRESS)
