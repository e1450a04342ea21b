"""The security review's bad inputs, kept: each is one clear error line (exit 1, or 2 for usage),
never a traceback, and answered within seconds (no hang, no memory blow-up)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

SPEC_HEAD = "version: 1\nstack: shop\n"
IMAGE_APP = "apps: {web: {image: 'ghcr.io/acme/web:1.4'}}\n"
APP_FILES = {"Procfile": "web: gunicorn shop.wsgi\n", "requirements.txt": "gunicorn==22.0.0\n"}


def _app(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in {**APP_FILES, **files}.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


def _spec(tmp: Path, text: str) -> list[str]:
    (tmp / "flashdrive.yaml").write_text(text)
    return ["validate", str(tmp / "flashdrive.yaml")]


def cron_superscript(tmp):
    return _spec(tmp, SPEC_HEAD + IMAGE_APP + "backups: {schedule: '0 \u00b2 * * *'}\n"), "'\u00b2' is not a number"


def nul_in_source(tmp):
    return _spec(tmp, SPEC_HEAD + 'apps: {web: {source: "a\\0b"}}\n'), "NUL character"


def long_source_name(tmp):
    return _spec(tmp, SPEC_HEAD + f"apps: {{web: {{source: {'a' * 300}}}}}\n"), "File name too long"


def long_ca_bundle_name(tmp):
    return _spec(tmp, SPEC_HEAD + IMAGE_APP + f"build: {{ca_bundle: {'a' * 300}}}\n"), "File name too long"


def nul_in_ca_bundle(tmp):
    return _spec(tmp, SPEC_HEAD + IMAGE_APP + 'build: {ca_bundle: "a\\0b"}\n'), "NUL character"


def long_spec_path(tmp):
    return ["validate", str(tmp / ("a" * 300 + ".yaml"))], "File name too long"


def fifo_as_spec(tmp):
    os.mkfifo(tmp / "flashdrive.yaml")
    return ["validate", str(tmp / "flashdrive.yaml")], "not a regular file"


def dev_zero_as_spec(tmp):
    return ["validate", "/dev/zero"], "not a regular file"


def huge_spec(tmp):
    (tmp / "flashdrive.yaml").write_text(SPEC_HEAD + IMAGE_APP + "# " + "x" * (5 * 1024 * 1024) + "\n")
    return ["validate", str(tmp / "flashdrive.yaml")], "MiB"


def env_with_100k_keys(tmp):
    env = "".join(f"      K{i}: v\n" for i in range(100_000))
    return (_spec(tmp, SPEC_HEAD + "apps:\n  web:\n    image: ghcr.io/acme/web:1.4\n    env:\n" + env),
            "keys and values; no stack needs that many")


def deep_pipfile_lock(tmp):
    lock = '{"_meta": {"pipfile-spec": 6}, "default": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + "}"
    app = _app(tmp / "app", {"Pipfile": '[packages]\ngunicorn = "*"\n', "Pipfile.lock": lock})
    (app / "requirements.txt").unlink()
    return ["dockerfile", str(app)], "nests too deeply"


def five_mb_procfile_line(tmp):
    app = _app(tmp / "app", {"Procfile": "web: " + "a " * 2_500_000 + "\n"})
    return ["dockerfile", str(app)], "characters long"


def build_env_name_starting_with_a_digit(tmp):
    return ["dockerfile", str(_app(tmp / "app", {})), "--build-env", "1A=x"], "not an environment variable name"


def fifo_as_procfile(tmp):
    app = _app(tmp / "app", {})
    (app / "Procfile").unlink()
    os.mkfifo(app / "Procfile")
    return ["dockerfile", str(app)], "has no Procfile"  # never opened, so never blocks


def diff_of_a_fifo(tmp):
    os.mkfifo(tmp / "plan.json")
    return ["diff", str(tmp / "plan.json"), str(tmp / "plan.json")], "not a regular file"


def diff_of_deep_json(tmp):
    (tmp / "plan.json").write_text('{"version": 1, "resources": ' + "[" * 100_000 + "]" * 100_000 + "}")
    return ["diff", str(tmp / "plan.json"), str(tmp / "plan.json")], "nests deeper than"


def diff_of_a_5000_digit_number(tmp):
    (tmp / "plan.json").write_text(json.dumps({"version": 1, "resources": []}).replace("1", "9" * 5000, 1))
    return ["diff", str(tmp / "plan.json"), str(tmp / "plan.json")], "5000 digits"


CASES = [cron_superscript, nul_in_source, long_source_name, long_ca_bundle_name, nul_in_ca_bundle, long_spec_path,
         fifo_as_spec, dev_zero_as_spec, huge_spec, env_with_100k_keys, deep_pipfile_lock, five_mb_procfile_line,
         build_env_name_starting_with_a_digit, fifo_as_procfile, diff_of_a_fifo, diff_of_deep_json,
         diff_of_a_5000_digit_number]


@pytest.mark.parametrize("case", CASES, ids=[case.__name__ for case in CASES])
def test_a_bad_input_is_one_clear_error_never_a_traceback_or_a_hang(case, tmp_path, cli):
    args, says = case(tmp_path)
    started = time.monotonic()
    run = cli(*args)
    elapsed = time.monotonic() - started
    assert "Traceback" not in run.err
    assert run.code in (1, 2), run.err
    assert says in run.err, run.err
    assert elapsed < 20, f"{case.__name__} took {elapsed:.1f} s"
