"""Commands that never deploy start without the Pulumi SDK: it is most of a cold start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "examples/django-shop/flashdrive.yaml"

# Runs the command in a fresh interpreter, then prints the Pulumi modules it imported.
PROBE = """
import json, sys
from flashdrive.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --help
    code = exc.code
loaded = sorted(m for m in sys.modules if m == "pulumi" or m.startswith(("pulumi.", "pulumi_")))
print("\\n" + json.dumps({"code": code, "pulumi": loaded}))
"""


def modules_after(*argv: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [
    ("validate", EXAMPLE),
    ("detect", "examples/django-shop/app"),
    ("detect", "examples/django-shop/app", "--json"),
    ("dockerfile", "examples/django-shop/app"),
    ("schema",),
    ("--help",),
    ("plan", "--help"),
    ("up", "--help"),
], ids=" ".join)
def test_commands_that_do_not_deploy_never_import_pulumi(argv):
    found = modules_after(*argv)
    assert found["code"] == 0
    assert found["pulumi"] == []


def test_the_probe_sees_pulumi_when_a_command_does_import_it():
    found = modules_after("plan", EXAMPLE, "--format", "json")
    assert found["code"] == 0
    assert "pulumi" in found["pulumi"] and "pulumi_docker" in found["pulumi"]


@pytest.mark.parametrize(("argv", "code"), [(("validate", EXAMPLE), 0), (("validate", "no-such.yaml"), 1),
                                            (("plan", "--format", "pdf"), 2)])
def test_python_m_flashdrive_exits_with_the_commands_code(argv, code):
    result = subprocess.run([sys.executable, "-m", "flashdrive", *argv], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
