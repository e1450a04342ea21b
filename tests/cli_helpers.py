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
