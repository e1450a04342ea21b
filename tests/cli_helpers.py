"""Helpers every test folder shares (tests/ is on sys.path through its conftest.py)."""

from __future__ import annotations

import re
from typing import NamedTuple

# A problem line: `FILE:LINE:COL: error: ...`, `FILE: error: ...` for a whole file (missing, a folder),
# or `error: ...` without any position.
PROBLEM = re.compile(r"^(?:(?P<file>.+?):(?:(?P<line>\d+):(?P<col>\d+):)? )?(?P<severity>error|warning): ")


class Run(NamedTuple):
    """Exit code, stdout and stderr of one command (also unpacks as a tuple)."""

    code: int
    out: str
    err: str

    def _problems(self, severity: str) -> list[str]:
        return [line for line in self.err.splitlines()
                if (match := PROBLEM.match(line)) and match["severity"] == severity]

    @property
    def error_lines(self) -> list[str]:
        return self._problems("error")

    @property
    def warning_lines(self) -> list[str]:
        return self._problems("warning")


def run_flashdrive(capsys, *args: str) -> Run:
    """`flashdrive ARGS...` in this process, what it printed captured by pytest's capsys."""
    from flashdrive.cli.main import main

    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


# A rolling app's copy is `<stack>-<app>-<n>-<version>` (flashdrive/docker/app.py): 8 hex digits.
_VERSIONED_COPY = re.compile(r"^(?P<copy>.+-\d+)-[0-9a-f]{8}$")


def unversioned(name: str) -> str:
    """`shop-web-1-3fa9c2d1` → `shop-web-1`; any other name unchanged."""
    match = _VERSIONED_COPY.match(name)
    return match["copy"] if match else name


def copy_of(plan, name: str, type_token: str = "docker:index/container:Container"):
    """The planned resource of copy `name` (`shop-web-1`), whatever its version."""
    found = [r for r in plan.by_type(type_token) if unversioned(r.name) == name]
    assert len(found) == 1, f"{name}: {[r.name for r in found]}"
    return found[0]
