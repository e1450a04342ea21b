"""Procfile parsing, spotting gunicorn in a command, and the container command for a process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from buildpack_helpers import FIXTURES
from flashdrive.buildpack import detect, procfile_command, runs_gunicorn
from flashdrive.buildpack.procfile import parse_procfile


def test_procfile_keeps_file_order_and_separates_release():
    text = "# comment\n\nworker: celery -A shop worker\r\nweb:gunicorn shop.wsgi\n  release: ./migrate.sh\nclock_2: python clock.py\n"
    procfile = parse_procfile(text, Path("Procfile"))
    assert procfile.processes == {"worker": "celery -A shop worker", "web": "gunicorn shop.wsgi", "clock_2": "python clock.py"}
    assert list(procfile.processes) == ["worker", "web", "clock_2"]
    assert procfile.release == "./migrate.sh"
    assert procfile.lines == {"worker": 3, "web": 4, "release": 5, "clock_2": 6}


def test_a_colon_inside_the_command_belongs_to_the_command():
    procfile = parse_procfile("web: gunicorn app:create_app() --bind :$PORT\n", Path("Procfile"))
    assert procfile.processes["web"] == "gunicorn app:create_app() --bind :$PORT"


@pytest.mark.parametrize("command", [
    "gunicorn shop.wsgi",
    "gunicorn -w 4 shop.wsgi:application",
    "python -m gunicorn shop.wsgi",
    "python3.12 -u -m gunicorn shop.wsgi",
    "exec gunicorn shop.wsgi",
    "FOO=1 BAR='a b' gunicorn shop.wsgi",
    "env DJANGO_SETTINGS_MODULE=shop.settings gunicorn shop.wsgi",
    "newrelic-admin run-program gunicorn shop.wsgi",
    "ddtrace-run gunicorn shop.wsgi",
    "uv run --no-sync gunicorn shop.wsgi",
    "poetry run gunicorn shop.wsgi",
    "/app/.venv/bin/gunicorn shop.wsgi",
    "python manage.py migrate && gunicorn shop.wsgi",
    "sh -c 'python manage.py check; exec gunicorn shop.wsgi'",
    "bash -c \"gunicorn shop.wsgi\"",
])
def test_commands_that_run_gunicorn(command):
    assert runs_gunicorn(command)


@pytest.mark.parametrize("command", [
    "celery -A shop worker",
    "python manage.py runserver",
    "python -m celery -A shop worker",
    "uvicorn app:app",
    "echo gunicorn",
    "python worker.py --mode gunicorn",
    "GUNICORN=1 python worker.py",
    "sh worker.sh",
    "python -m gunicorn_thing",
])
def test_commands_that_do_not_run_gunicorn(command):
    assert not runs_gunicorn(command)


def test_unbalanced_quotes_do_not_crash_the_check():
    assert runs_gunicorn("gunicorn shop.wsgi --name 'unterminated")


def test_gunicorn_process_command_binds_all_interfaces_at_port():
    detection = detect(FIXTURES / "pip_django")
    assert procfile_command(detection, "web") == [
        "/bin/sh", "-c",
        'export GUNICORN_CMD_ARGS="--bind=0.0.0.0:${PORT:-8000} ${GUNICORN_CMD_ARGS:-}"; '
        "exec gunicorn shop.wsgi --log-file -",
    ]


def test_other_processes_are_execed_so_they_receive_stop_signals():
    detection = detect(FIXTURES / "pip_django")
    assert procfile_command(detection, "worker") == ["/bin/sh", "-c", "exec celery -A shop worker --loglevel=info"]
    assert procfile_command(detection, "release") == ["/bin/sh", "-c", "exec python manage.py migrate --noinput"]


def test_compound_commands_run_as_written():
    from flashdrive.buildpack.procfile import shell_command

    assert shell_command("python manage.py migrate && celery -A shop worker") == \
        ["/bin/sh", "-c", "python manage.py migrate && celery -A shop worker"]
    assert shell_command("FOO='a b' celery worker") == ["/bin/sh", "-c", "FOO='a b' exec celery worker"]
    assert shell_command("exec celery worker") == ["/bin/sh", "-c", "exec celery worker"]


def test_unknown_process_names_the_ones_that_exist():
    detection = detect(FIXTURES / "pip_worker")
    with pytest.raises(KeyError, match="has no process 'web' \\(it has: worker, clock\\)"):
        procfile_command(detection, "web")


def test_the_gunicorn_prefix_really_sets_the_bind_address_in_sh(tmp_path):
    # Run the generated shell with a fake gunicorn that prints what it receives.
    fake = tmp_path / "gunicorn"
    fake.write_text('#!/bin/sh\necho "$GUNICORN_CMD_ARGS|$*"\n')
    fake.chmod(0o755)
    detection = detect(FIXTURES / "pip_django")
    command = procfile_command(detection, "web")
    result = subprocess.run(command, capture_output=True, text=True, check=True,
                            env={"PATH": f"{tmp_path}:/usr/bin:/bin", "PORT": "5000", "GUNICORN_CMD_ARGS": "--workers=3"})
    assert result.stdout == "--bind=0.0.0.0:5000 --workers=3|shop.wsgi --log-file -\n"
