"""The buildpack's one error type: what was found, why it is wrong, and the exact fix."""

from __future__ import annotations

from pathlib import Path

from flashdrive.problems import FlashdriveError, Mark, Problem


class BuildpackError(FlashdriveError):
    """An app folder the buildpack cannot build.

    `message` says what was found and why it is wrong; `hint` is the exact fix. `file`, `line`
    and `col` point at the offending spot when there is one (1-based).
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        file: Path | str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        self.message = message
        self.hint = hint
        self.file = Path(file) if file is not None else None
        self.line = line
        self.col = col
        super().__init__(self.to_problem().format())

    def report(self, command: str | None = None) -> str:
        return self.to_problem().format()

    def to_problem(self) -> Problem:
        mark = Mark(str(self.file), self.line or 1, self.col or 1) if self.file is not None else None
        return Problem(self.message, mark=mark, hint=self.hint)
