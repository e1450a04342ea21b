"""Every error flashdrive explains to its user derives from one base, which the CLI handles once."""

from __future__ import annotations

import pytest

from flashdrive.automation.workspace import AutomationError
from flashdrive.buildpack.errors import BuildpackError
from flashdrive.cli.main import main
from flashdrive.operations.backups import BackupError
from flashdrive.operations.engine import OperationError
from flashdrive.plan.capture import ProgramError
from flashdrive.problems import FlashdriveError, InputError, Mark, Problem


@pytest.mark.parametrize("error", [InputError, BuildpackError, ProgramError, AutomationError, BackupError,
                                   OperationError])
def test_every_error_the_user_reads_is_a_flashdrive_error(error):
    assert issubclass(error, FlashdriveError)


def test_an_error_with_a_position_reads_as_its_problems_and_a_plain_one_names_the_command():
    problem = Problem("is wrong", Mark("flashdrive.yaml", 3, 5), "apps.web", "fix it")
    assert InputError([problem]).report("plan") == problem.format()
    assert BuildpackError("no Procfile", file="app/Procfile", line=1).report("plan") == \
        "app/Procfile:1:1: error: no Procfile"
    assert OperationError("no Docker engine answers").report("ps") == "flashdrive ps: error: no Docker engine answers"


def test_the_cli_prints_a_buildpack_error_of_any_command_and_exits_1(tmp_path, capsys):
    (tmp_path / "requirements.txt").write_text("flask\n")  # no Procfile: the buildpack cannot build it
    assert main(["detect", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "has no Procfile" in err and "Traceback" not in err
