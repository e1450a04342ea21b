"""Smoke test of benchmarks/run.py: it runs and reports every figure. Speed is never asserted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from numbers import Number
from pathlib import Path

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
    counted = figures["cold_start_instructions_ratio"]  # callgrind's count, where valgrind is installed
    assert (counted is None) == (shutil.which("valgrind") is None), counted
    assert counted is None or counted > 0
    assert figures["docker_skipped"] == "--no-docker"
    assert figures["n_apps"] == 50 and figures["quick"] is True
