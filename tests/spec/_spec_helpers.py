"""Helpers shared by the spec tests (imported by name: this folder is on sys.path under pytest)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A problem line: `FILE:LINE:COL: error: ...`, `FILE: error: ...` for a whole file (missing, a folder),
# or `error: ...` without any position.
PROBLEM = re.compile(r"^(?:(?P<file>.+?):(?:(?P<line>\d+):(?P<col>\d+):)? )?(?P<severity>error|warning): ")


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if PROBLEM.match(line) and PROBLEM.match(line)["severity"] == "error"]

    @property
    def warning_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if PROBLEM.match(line) and PROBLEM.match(line)["severity"] == "warning"]

