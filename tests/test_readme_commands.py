"""CI runs the README's own set-up and test commands (.ci/run reads them through .ci/readme_commands.py)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "readme_commands.py"


def readme_block(name: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), name], capture_output=True, text=True, cwd=ROOT)


def test_ci_reads_the_readme_set_up_and_test_commands():
    setup, tests = readme_block("setup"), readme_block("test")
    assert setup.returncode == 0 and tests.returncode == 0, setup.stderr + tests.stderr
    assert "pip install -e '.[dev]'" in setup.stdout
    assert tests.stdout.strip() == ".venv/bin/python -m pytest -q"
    lint = readme_block("lint")
    assert lint.stdout.strip() == (".venv/bin/ruff check flashdrive && .venv/bin/ruff format --check flashdrive && "
                                   ".venv/bin/mypy flashdrive")
    run = (ROOT / ".ci" / "run").read_text()
    assert "readme setup" in run and "readme test" in run and "readme lint" in run


def test_a_missing_marker_fails_instead_of_running_nothing():
    result = readme_block("no-such-block")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no fenced block marked <!-- ci: no-such-block -->" in result.stderr


def test_the_dev_extra_installs_every_sdk_the_tests_import():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dev = project["optional-dependencies"]["dev"]
    assert "flashdrive[kubernetes]" in dev  # tests/kubernetes imports pulumi_kubernetes
