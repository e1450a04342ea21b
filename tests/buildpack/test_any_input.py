"""Whatever a user writes in a Procfile, version file or requirements file, the result is a detection or a
BuildpackError, never another exception (which would reach the user as a traceback)."""

from __future__ import annotations

from pathlib import Path

from fuzzing import example, fuzz
from hypothesis import given
from hypothesis import strategies as st

from flashdrive.buildpack import BuildpackError, detect, runs_gunicorn
from flashdrive.buildpack.procfile import parse_procfile, shell_command

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
LINES = st.lists(st.sampled_from([
    "web: gunicorn shop.wsgi", "worker celery", "release:", "# c", "", "a b: c", "web: x", "-r other.txt",
    "-e .", "django>=5", "python-3.12", "3.9", "\\", "--hash=sha256:0", "x @ file:../y", "'", "\"",
]) | TEXT, max_size=8).map("\n".join)


@fuzz
@given(LINES)
def test_any_procfile_text_parses_or_is_a_buildpack_error(text):
    with example("procfile"):
        _parse_or_buildpack_error(text)


def _parse_or_buildpack_error(text: str) -> None:
    try:
        procfile = parse_procfile(text, Path("Procfile"))
    except BuildpackError as exc:
        assert exc.to_problem().format().startswith("Procfile:")
        return
    for command in procfile.processes.values():
        assert isinstance(runs_gunicorn(command), bool)
        assert shell_command(command)[:2] == ["/bin/sh", "-c"]


@fuzz
@given(procfile=LINES, requirements=LINES, version=LINES)
def test_any_app_files_detect_or_raise_a_buildpack_error(tmp_path, procfile, requirements, version):
    with example("app-files"):
        _detect_or_buildpack_error(tmp_path, procfile, requirements, version)


def _detect_or_buildpack_error(tmp_path, procfile: str, requirements: str, version: str) -> None:
    app = tmp_path / "app"
    app.mkdir(exist_ok=True)
    (app / "Procfile").write_text(procfile)
    (app / "requirements.txt").write_text(requirements)
    (app / ".python-version").write_text(version)
    try:
        detection = detect(app)
    except BuildpackError as exc:
        assert exc.message and "\n" not in exc.to_problem().format().split("\n    ")[0]
        return
    assert detection.processes
