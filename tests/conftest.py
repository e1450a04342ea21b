"""What every test folder shares: running the `flashdrive` command in-process."""

from __future__ import annotations

import pytest

from cli_helpers import Run
from flashdrive.cli.main import main


@pytest.fixture
def cli(capsys):
    """Run `flashdrive ARGS...` in-process. Usage errors come back as exit code 2; no Python
    traceback may ever reach the user."""

    def run(*args: object) -> Run:
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out
        return Run(code, captured.out, captured.err)

    return run
