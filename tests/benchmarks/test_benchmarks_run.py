"""Smoke test of benchmarks/run.py: it runs and reports every figure. Speed is never asserted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from numbers import Number
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAN_KEYS = ("plan_overhead_ratio", "plan_scaling_ratio", "cold_start_ratio", "peak_memory_mb")
DOCKER_KEYS = ("rebuild_ratio", "first_https_s", "raw_first_https_s", "code_deploy_failed", "code_deploy_s",
               "raw_code_deploy_s")


def test_quick_run_without_docker_reports_every_figure():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", "--no-docker"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    for key in PLAN_KEYS:
        assert isinstance(figures[key], Number) and not isinstance(figures[key], bool), (key, figures[key])
        assert figures[key] > 0, (key, figures[key])
    for key in DOCKER_KEYS:
        assert key in figures and figures[key] is None, (key, figures[key])
    assert figures["cold_start_instructions_ratio"] is None  # callgrind's count: full runs only (~40 s)
    assert figures["docker_skipped"] == "--no-docker"
    assert figures["n_apps"] == 50 and figures["quick"] is True


def fake_valgrind(folder: Path, script: str) -> dict:
    """A `valgrind` first on PATH that prints what callgrind would (the test needs no valgrind)."""
    (folder / "valgrind").write_text("#!/bin/sh\n" + script)
    (folder / "valgrind").chmod(0o755)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def test_instructions_are_read_from_callgrinds_summary(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import run

    env = fake_valgrind(tmp_path, 'echo "==4242== Events    : Ir" >&2\necho "==4242== Collected : 2044140095" >&2\n')
    monkeypatch.setenv("PATH", env["PATH"])
    assert run.instructions(["true"], env) == 2044140095


def test_a_failed_count_is_an_error_that_shows_valgrinds_words(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import run

    env = fake_valgrind(tmp_path, 'echo "valgrind: no such tool" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", env["PATH"])
    with pytest.raises(RuntimeError, match="no such tool"):
        run.instructions(["true"], env)
