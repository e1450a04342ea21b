"""Loader errors that a header comment cannot describe: bytes that are not UTF-8, files that are
not there, folders, overlays (whose errors must point into the overlay file), usage errors."""

from __future__ import annotations

import subprocess
import sys
import shutil
from pathlib import Path

import pytest

from flashdrive.cli.main import main

BASE = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
    disks:
      - {name: media, mount: /app/media, size_gb: 1}
  api:
    image: ghcr.io/acme/api:1.4
databases:
  main: {engine: postgres}
"""


def test_a_file_that_is_not_utf8_is_reported_at_the_first_bad_byte(cli, write):
    spec = write("flashdrive.yaml", b"version: 1\nstack: caf\xe9\n")
    run = cli("validate", spec)
    assert run.code == 1
    assert run.err.splitlines() == [f"{spec}:2:11: error: the file is not UTF-8 (byte 0xe9)",
                                    "    save the file as UTF-8"]


def test_an_empty_file_says_how_to_start(cli, write):
    spec = write("flashdrive.yaml", b"")
    run = cli("validate", spec)
    assert run.code == 1
    assert run.err.splitlines() == [
        f"{spec}:1:1: error: the file is empty",
        "    start with `version: 1` and `stack: NAME`; `flashdrive init` writes a starter file"]


def test_a_missing_file_is_named_without_a_line(cli, tmp_path):
    missing = tmp_path / "nowhere" / "flashdrive.yaml"
    run = cli("validate", missing)
    assert run.code == 1
    assert run.err.splitlines() == [
        f"{missing}: error: file not found",
        "    pass the path to your flashdrive.yaml, or run `flashdrive init` to write one"]


def test_without_an_argument_the_spec_is_flashdrive_yaml_in_the_current_folder(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = cli("validate")
    assert run.code == 1
    assert run.err.splitlines()[0] == "flashdrive.yaml: error: file not found"


def test_a_folder_given_as_spec_points_at_the_file_inside_it(cli, tmp_path):
    run = cli("validate", tmp_path)
    assert run.code == 1
    assert run.err.splitlines() == [
        f"{tmp_path}: error: is a folder, not a file",
        f"    pass the spec inside it, e.g. {tmp_path / 'flashdrive.yaml'}"]


def test_overlay_errors_point_into_the_overlay_file(cli, write):
    spec = write("flashdrive.yaml", BASE)
    overlay = write("flashdrive.staging.yaml", """\
        # staging
        apps:
          web:
            nodez: 1
          api:
            size: huge
        """)
    run = cli("validate", spec, "--overlay", overlay)
    assert run.code == 1
    assert run.err.splitlines() == [
        f"{overlay}:4:5: error: apps.web.nodez: unknown key 'nodez'",
        "    did you mean 'nodes'?",
        f"{overlay}:6:11: error: apps.api.size: the text 'huge' is not one of 'xs', 's', 'm', 'l' or 'xl'"]


def test_overlay_rule_errors_point_into_the_overlay_file(cli, write):
    spec = write("flashdrive.yaml", BASE)
    overlay = write("flashdrive.staging.yaml", """\
        apps:
          web:
            env:
              DATABASE_URL: "${databases.mian.url}"
            domains:
              - shop.example.com
        """)
    run = cli("validate", spec, "--overlay", overlay)
    assert run.code == 1
    assert run.err.splitlines() == [
        f"{overlay}:4:22: error: apps.web.env.DATABASE_URL: ${{databases.mian.url}} refers to database 'mian', "
        "which is not in this stack (databases: main)",
        "    did you mean 'main'?",
        f"{overlay}:6:9: error: apps.web.domains[0]: domain 'shop.example.com' gets its certificate from ACME, "
        "which needs an account email",
        "    add `tls: {email: you@example.com}` at the top level"]


def test_errors_in_both_files_are_reported_at_once(cli, write):
    spec = write("flashdrive.yaml", BASE.replace("size_gb: 1", "size_gb: 0"))
    overlay = write("over.yaml", "stack: Shop\n")
    run = cli("validate", spec, "--overlay", overlay)
    assert run.code == 1
    assert [line.split(": error:")[0] for line in run.error_lines] == [f"{spec}:7:51", f"{overlay}:1:8"]


@pytest.mark.parametrize(("content", "line", "col", "message"), [
    (b"", 1, 1, "the file is empty"),
    (b"- web\n", 1, 1, "the file holds a list, but a spec is a mapping of keys"),
    (b"apps:\n  web: {image: x\n", 3, 1, "invalid YAML: while parsing a flow mapping, did not find expected ',' or '}'"),
    (b"stack: caf\xe9\n", 1, 11, "the file is not UTF-8 (byte 0xe9)"),
    (b"apps:\n  web:\n    nodes: 2\n    nodes: 3\n", 4, 5, "duplicate key 'nodes' (first written at line 3)"),
])
def test_yaml_errors_in_the_overlay_point_into_the_overlay(cli, write, content, line, col, message):
    spec = write("flashdrive.yaml", BASE)
    overlay = write("over.yaml", content)
    run = cli("validate", spec, "--overlay", overlay)
    assert run.code == 1
    assert f"{overlay}:{line}:{col}: error: {message}" in run.err.splitlines()
    assert all(line.startswith(str(overlay)) for line in run.error_lines)


def test_a_missing_overlay_is_named(cli, write, tmp_path):
    spec = write("flashdrive.yaml", BASE)
    run = cli("validate", spec, "--overlay", tmp_path / "staging.yaml")
    assert run.code == 1
    assert run.err.splitlines() == [
        f"{tmp_path / 'staging.yaml'}: error: file not found",
        "    pass the path to your flashdrive.yaml, or run `flashdrive init` to write one"]


def test_a_clash_between_overlay_and_base_names_the_other_file(cli, write):
    spec = write("flashdrive.yaml", BASE)
    overlay = write("over.yaml", """\
        apps:
          api:
            disks:
              - {name: media, mount: /app/media, size_gb: 1}
        """)
    run = cli("validate", spec, "--overlay", overlay)
    assert run.code == 1
    [line] = run.error_lines
    assert line.startswith(f"{overlay}:4:16: error: apps.api.disks[0].name: disk name 'media' is already used by app 'web'")
    assert f"{spec.name}:7" in line


@pytest.mark.parametrize("value", [
    "!!int shop",
    "!!float shop",
    "!!timestamp shop",
    "!!bool shop",
    "!!binary 'shop%%%'",
    "!!python/object:os.system shop",
    "!!set [shop]",
    "!!omap [shop]",
    "!shop shop",
])
def test_a_tag_that_does_not_fit_its_value_is_an_error_at_the_value(capsys, write, value):
    spec = write("flashdrive.yaml", f"version: 1\nstack: {value}\n")
    code = main(["validate", str(spec)])  # any exception here is the bug: it would be a traceback
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if not line.startswith("    ")]
    assert errors and all(line.startswith(f"{spec}:2:8: error: ") for line in errors), err


def test_a_control_character_is_reported_where_it_is_on_one_line(cli, write):
    spec = write("flashdrive.yaml", "version: 1\nstack: shop\napps:\n  web:\n    image: x\x01y\n")
    run = cli("validate", spec)
    assert run.code == 1
    lines = run.err.splitlines()
    assert lines[0] == (f"{spec}:5:13: error: the file contains the control character U+0001, "
                        "which YAML does not allow")
    assert all(line.startswith("    ") for line in lines[1:]), "one problem line, then at most its hint"


def test_a_web_process_running_gunicorn_without_it_points_into_the_procfile(cli, write):
    """The buildpack refuses the folder; its error points at the Procfile line, not into the spec."""
    spec = write("flashdrive.yaml", "version: 1\nstack: shop\napps:\n  web:\n    source: ./app\n")
    app = spec.parent / "app"
    shutil.copytree(Path(__file__).resolve().parent / "invalid" / "apps" / "no-gunicorn", app)
    run = cli("validate", spec)
    assert run.code == 1
    [line] = run.error_lines
    assert line.startswith(f"{app / 'Procfile'}:1:1: error: ")
    assert "gunicorn" in line and "requirements.txt" in line
    assert "gunicorn" in run.err.splitlines()[1]  # the hint says how to add it


def test_wrong_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["validate", "a.yaml", "b.yaml"])
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_the_console_script_exits_1_for_a_bad_spec_and_2_for_bad_usage(tmp_path):
    flashdrive = Path(sys.executable).with_name("flashdrive")
    if not flashdrive.exists():
        pytest.skip("the flashdrive console script is not installed next to this Python")
    bad = subprocess.run([flashdrive, "validate", tmp_path / "missing.yaml"], capture_output=True, text=True)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    usage = subprocess.run([flashdrive, "validate", "--bogus"], capture_output=True, text=True)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
