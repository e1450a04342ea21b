"""The invalid-spec corpus: every file in invalid/ states, in its header, what `flashdrive validate` prints.

Header lines (before the first line that is not a comment):

    # expect: LINE:COL: error: KEY.PATH: message      the problem line, exactly (after `FILE:`)
    # expect-prefix: LINE:COL: error: ...             the start of it, where the text holds an absolute path
    # hint: text                                      the indented hint line printed right after it
    # xfail: BUG: ...                                 a known bug in the code under test

A problem without a `# hint:` must print no hint. Every problem of the file is reported at
once: the error and warning lines printed are exactly the expected ones, no more.
LINE:COL count from the top of the case file, header included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from _spec_helpers import PROBLEM

INVALID = Path(__file__).resolve().parent / "invalid"


@dataclass
class Expected:
    text: str
    prefix: bool
    hint: str | None = None

    @property
    def severity(self) -> str:
        return PROBLEM.match("f:1:1: " + self.text.split(": ", 1)[1])["severity"]


@dataclass
class Case:
    path: Path
    expected: list[Expected] = field(default_factory=list)
    xfail: str | None = None


def read_case(path: Path) -> Case:
    case = Case(path)
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        directive, _, value = line[1:].strip().partition(": ")
        if directive in ("expect", "expect-prefix"):
            case.expected.append(Expected(value, prefix=directive == "expect-prefix"))
        elif directive == "hint":
            assert case.expected and case.expected[-1].hint is None, f"{path.name}: `# hint:` must follow an `# expect:`"
            case.expected[-1].hint = value
        elif directive == "xfail":
            case.xfail = value
    assert case.expected, f"{path.name} has no `# expect:` line"
    return case


def _params() -> list:
    params = []
    for path in sorted(INVALID.glob("*.yaml")):
        case = read_case(path)
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        params.append(pytest.param(case, id=path.stem, marks=marks))
    return params


def parse_problems(stderr: str) -> list[tuple[str, str | None]]:
    """Problem lines with the hint line that follows each one (None when there is none)."""
    problems: list[tuple[str, str | None]] = []
    for line in stderr.splitlines():
        if line.startswith("    ") and problems and problems[-1][1] is None:
            problems[-1] = (problems[-1][0], line[4:])
        else:
            problems.append((line, None))
    return problems


def test_the_corpus_is_large_and_numbered():
    names = sorted(p.name for p in INVALID.glob("*.yaml"))
    assert len(names) >= 45
    numbers = [int(name.split("-", 1)[0]) for name in names]
    assert numbers == list(range(1, len(names) + 1)), "cases are numbered 01, 02, ... without gaps"


@pytest.mark.parametrize("case", _params())
def test_invalid_spec_reports_every_problem(case: Case, cli):
    started = time.monotonic()
    run = cli("validate", case.path)
    elapsed = time.monotonic() - started

    assert "Traceback" not in run.err
    assert run.code == 1, run.err
    assert elapsed < 10, f"validate took {elapsed:.1f} s"
    printed = parse_problems(run.err)
    unmatched = list(printed)
    for expected in case.expected:
        want = f"{case.path}:{expected.text}"
        found = next((p for p in unmatched if (p[0].startswith(want) if expected.prefix else p[0] == want)), None)
        assert found is not None, f"missing:\n  {want}\nprinted:\n{run.err}"
        unmatched.remove(found)
        assert found[1] == expected.hint, f"hint of\n  {want}\nexpected {expected.hint!r}, printed {found[1]!r}"
    want_errors = sum(e.severity == "error" for e in case.expected)
    want_warnings = sum(e.severity == "warning" for e in case.expected)
    assert (len(run.error_lines), len(run.warning_lines)) == (want_errors, want_warnings), \
        f"unexpected problems:\n" + "\n".join(p[0] for p in unmatched)


# --- messages beyond the corpus ----------------------------------------------------------------

@pytest.mark.parametrize(("value", "key"), [
    ("apps: {web: {image: x, env: {TOKEN: {generate: secret, config: apiToken}}}}", "config"),
    ("backups: {target: {volume: backups, s3: {endpoint: 'https://s3', bucket: b}}}", "s3"),
])
def test_a_hint_never_suggests_the_key_that_was_written(cli, write, value, key):
    spec = write("flashdrive.yaml", f"version: 1\nstack: shop\n{value}\n")
    run = cli("validate", spec)
    assert run.code == 1
    assert f"did you mean '{key}'?" not in run.err
    assert "unknown key" not in run.err, "the key is known: the problem is combining it with another one"


@pytest.mark.parametrize("text", ['stack: "shop\\nstaging"', 'stack: "shop\\rstaging"',
                                  'stack: shop\napps: {web: {image: "x", type: "web\\nworker"}}'])
def test_a_value_with_a_line_break_is_shown_on_one_line(cli, write, text):
    spec = write("flashdrive.yaml", f"version: 1\n{text}\n")
    run = cli("validate", spec)
    assert run.code == 1
    for line in run.err.rstrip("\n").split("\n"):
        assert line.startswith("    ") or line.startswith(f"{spec}:"), f"{line!r} in\n{run.err}"
    assert "\r" not in run.err


def test_the_rename_hint_for_a_name_clash_does_not_suggest_the_same_name(cli, write):
    spec = write("flashdrive.yaml", """\
        version: 1
        stack: shop
        apps:
          main: {image: ghcr.io/acme/web:1.4}
        databases:
          main: {engine: postgres}
        """)
    run = cli("validate", spec)
    assert run.code == 1
    [line] = run.error_lines
    assert line == f"{spec}:6:3: error: databases.main: 'main' is both an app and a database; both would answer " \
                   "to the host name 'main'"
    assert run.err.splitlines()[1] == "    rename the database, e.g. 'main-db'"


def test_schema_and_rule_problems_are_reported_together(cli, write):
    spec = write("flashdrive.yaml", """\
        version: 1
        stack: shop
        apps:
          web:
            image: ghcr.io/acme/web:1.4
            nodez: 2
            env:
              DATABASE_URL: ${databases.mian.url}
        databases:
          main: {engine: postgres}
        """)
    run = cli("validate", spec)
    assert run.code == 1
    assert [line.split(": error: ")[0] for line in run.error_lines] == [f"{spec}:6:5", f"{spec}:8:21"]
