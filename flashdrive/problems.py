"""Problems with user input, reported as `FILE:LINE:COL: error: KEY.PATH: message`.

Every bad input becomes a Problem; nothing the user wrote may surface as a traceback.
"""

from __future__ import annotations

from typing import Iterable, Literal

from msgspec import Struct, field

Severity = Literal["error", "warning"]


class Mark(Struct, frozen=True):
    """A 1-based position in a file; line 0 means the file as a whole."""

    file: str
    line: int
    col: int


def _one_line(text: str) -> str:
    """A problem is one line: line breaks and control characters from user values are escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Problem(Struct, frozen=True):
    message: str
    mark: Mark | None = None
    path: str = ""
    hint: str | None = None
    severity: Severity = "error"

    def format(self) -> str:
        if self.mark is None:
            where = ""
        elif self.mark.line == 0:  # about the file as a whole (missing, unreadable)
            where = f"{self.mark.file}: "
        else:
            where = f"{self.mark.file}:{self.mark.line}:{self.mark.col}: "
        key = f"{self.path}: " if self.path else ""
        text = f"{where}{self.severity}: {key}{_one_line(self.message)}"
        if self.hint:
            text += f"\n    {_one_line(self.hint)}"
        return text

    def sort_key(self) -> tuple:
        if self.mark is None:
            return ("", 0, 0, self.message)
        return (self.mark.file, self.mark.line, self.mark.col, self.message)


class Problems(Struct):
    """All problems of one run, so every problem of a file is reported at once."""

    items: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.items.append(problem)

    def error(self, message: str, mark: Mark | None = None, path: str = "", hint: str | None = None) -> None:
        self.items.append(Problem(message, mark, path, hint, "error"))

    def warning(self, message: str, mark: Mark | None = None, path: str = "", hint: str | None = None) -> None:
        self.items.append(Problem(message, mark, path, hint, "warning"))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def sorted(self) -> list[Problem]:
        unique = list(dict.fromkeys(self.items))  # the first of equal problems, in order
        return sorted(unique, key=Problem.sort_key)


class FlashdriveError(Exception):
    """The base of every error flashdrive explains instead of crashing: what is wrong with the input,
    the app folder, the Docker engine, a backup or a stack command. The CLI handles it once
    (cli/main.py: prints `report()`, exits 1), and so does the Pulumi program (program.run)."""

    def report(self, command: str | None = None) -> str:
        """What the user reads: one line that names the command, unless the error has positions."""
        return f"flashdrive {command}: error: {self}" if command else f"error: {self}"


class InputError(FlashdriveError):
    """Raised when input is so wrong that nothing further can be checked (missing file, bad YAML)."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(p.format() for p in problems))
        self.problems = problems

    def report(self, command: str | None = None) -> str:
        return "\n".join(p.format() for p in self.problems)
