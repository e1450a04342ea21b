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
commands = sorted(m for m in sys.modules if m.startswith("flashdrive.cli.") and m != "flashdrive.cli.main")
print("\\n" + json.dumps({"code": code, "pulumi": loaded, "command_modules": commands}))
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


def test_a_command_line_imports_the_module_of_its_command_and_no_other():
    found = modules_after("validate", EXAMPLE)
    assert found["command_modules"] == ["flashdrive.cli.spec_commands"]
    # plan's module takes the --preview argument type from the stack commands' module, nothing else
    found = modules_after("plan", "--help")
    assert found["command_modules"] == ["flashdrive.cli.plan_command", "flashdrive.cli.stack_commands"]


def test_help_before_a_command_still_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "flashdrive", "--help", "plan"], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "previews" in result.stdout and "validate" in result.stdout


def test_help_without_a_command_lists_every_command(capsys):
    from flashdrive.cli.main import COMMAND_MODULES, build_parser

    with pytest.raises(SystemExit):
        build_parser(["--help"]).parse_args(["--help"])
    shown = capsys.readouterr().out
    for commands in COMMAND_MODULES.values():
        for command in commands:
            assert f"    {command} " in shown or f"    {command}\n" in shown, command


def test_the_command_table_names_exactly_what_each_module_registers():
    import argparse
    import importlib

    from flashdrive.cli.main import COMMAND_MODULES

    for name, commands in COMMAND_MODULES.items():
        subparsers = argparse.ArgumentParser().add_subparsers(dest="command")
        importlib.import_module(name).register(subparsers)
        assert tuple(subparsers.choices) == commands, name


def test_a_mistyped_command_is_told_with_the_whole_list():
    result = subprocess.run([sys.executable, "-m", "flashdrive", "plna"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert "invalid choice: 'plna'" in result.stderr and "'plan'" in result.stderr and "'previews'" in result.stderr
