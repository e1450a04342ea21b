"""Every folder the buildpack cannot build: exit 1, one `FILE:LINE:COL: error:` line naming what was
found and why, and a hint with the exact fix. Run through the real CLI."""

from __future__ import annotations

import pytest

from buildpack_helpers import PIPFILE, django_app, pipfile_lock


def error_of(result) -> tuple[str, str]:
    """(the error line, the hint line) of a failed run."""
    assert result.code == 1, result.out + result.err
    assert result.out == ""
    lines = result.err.rstrip("\n").split("\n")
    assert len(lines) == 2, result.err
    assert lines[1].startswith("    ")
    return lines[0], lines[1].strip()


# --- the folder and its package manager -------------------------------------------------------------

def test_missing_app_folder_is_named(cli, tmp_path):
    error, hint = error_of(cli("detect", tmp_path / "nope"))
    assert error == f"error: the app folder {tmp_path / 'nope'} does not exist"
    assert "Procfile" in hint


def test_folder_without_package_manager_files_names_the_fix(cli, make_app):
    app = make_app({"Procfile": "web: gunicorn app:app\n", "app.py": ""})
    error, hint = error_of(cli("detect", app))
    assert "has no requirements.txt, Pipfile.lock, poetry.lock or uv.lock" in error
    assert hint == "add a requirements.txt listing the app's packages (`pip freeze > requirements.txt`); " \
                   "an app with no dependencies needs an empty one"


def test_pipfile_without_lock_names_the_fix(cli, make_app):
    app = make_app({"Pipfile": PIPFILE, "Procfile": "web: gunicorn app:app\n"})
    error, hint = error_of(cli("detect", app))
    assert error.startswith(f"{app / 'Pipfile'}:1:1: error: ")
    assert "has no Pipfile.lock beside it" in error
    assert hint == f"run `pipenv lock` in {app} and commit Pipfile.lock"


def test_pipfile_lock_without_pipfile_names_the_fix(cli, make_app):
    app = make_app({"Pipfile.lock": pipfile_lock({"gunicorn": "==23.0.0"}), "Procfile": "web: gunicorn app:app\n"})
    error, hint = error_of(cli("detect", app))
    assert "has no Pipfile beside it" in error
    assert hint == f"commit the Pipfile together with Pipfile.lock in {app}"


def test_several_package_managers_are_named_with_the_fix(cli, make_app):
    app = make_app({"requirements.txt": "gunicorn\n", "poetry.lock": "", "pyproject.toml": "",
                    "Procfile": "web: gunicorn app:app\n"})
    error, hint = error_of(cli("detect", app))
    assert "has files of several package managers (requirements.txt, poetry.lock: pip and poetry)" in error
    assert hint == "delete the files of the managers you do not use, e.g. delete poetry.lock to install with pip " \
                   "from requirements.txt"


@pytest.mark.parametrize("lock", ["poetry.lock", "uv.lock"])
def test_lock_without_pyproject_names_the_fix(cli, make_app, lock):
    app = make_app({lock: "", "Procfile": "web: gunicorn app:app\n"})
    error, hint = error_of(cli("detect", app))
    assert f"{lock} has no pyproject.toml beside it" in error
    assert hint == f"commit pyproject.toml together with {lock} in {app}"


def test_pyproject_without_a_lock_asks_for_uv_lock(cli, make_app):
    app = make_app({"pyproject.toml": '[project]\nname = "x"\ndependencies = ["flask"]\n', "Procfile": "web: x\n"})
    _, hint = error_of(cli("detect", app))
    assert hint == f"run `uv lock` in {app} and commit uv.lock, or list the dependencies in a requirements.txt"


def test_poetry_project_without_its_lock_asks_for_poetry_lock(cli, make_app):
    app = make_app({"pyproject.toml": '[tool.poetry]\nname = "x"\n', "Procfile": "web: x\n"})
    _, hint = error_of(cli("detect", app))
    assert hint == f"run `poetry lock` in {app} and commit poetry.lock"


def test_setup_py_only_suggests_a_requirements_file_installing_it(cli, make_app):
    app = make_app({"setup.py": "from setuptools import setup\nsetup()\n", "Procfile": "web: x\n"})
    _, hint = error_of(cli("detect", app))
    assert hint == "add a requirements.txt containing the line `-e .` so pip installs the project from setup.py"


def test_requirements_in_a_subfolder_suggest_an_include(cli, make_app):
    app = make_app({"requirements/prod.txt": "gunicorn\n", "Procfile": "web: x\n"})
    _, hint = error_of(cli("detect", app))
    assert hint == "add a requirements.txt that includes the one to deploy, e.g. a single line `-r requirements/prod.txt`"


def test_committed_virtualenv_is_an_error(cli, make_app):
    app = make_app(django_app({"venv/pyvenv.cfg": "home = /usr/bin\n"}))
    error, hint = error_of(cli("detect", app))
    assert error.startswith(f"{app / 'venv' / 'pyvenv.cfg'}:1:1: error: {app / 'venv'} is a virtualenv inside the app folder")
    assert hint.startswith("delete venv/ from the app folder and add `venv/` to .gitignore")


def test_virtualenv_excluded_by_the_apps_own_dockerignore_is_fine(cli, make_app):
    app = make_app(django_app({".venv/pyvenv.cfg": "home = /usr/bin\n", ".dockerignore": ".venv/\n"}))
    assert cli("detect", app).code == 0


def test_dockerignore_hiding_the_requirements_is_an_error(cli, make_app):
    app = make_app(django_app({".dockerignore": "*.txt\n"}))
    error, hint = error_of(cli("detect", app))
    assert error == f"{app / '.dockerignore'}:1:1: error: .dockerignore excludes requirements.txt, but the build " \
                    "installs the dependencies from it"
    assert hint == "remove the pattern that matches requirements.txt from .dockerignore, or add a line `!requirements.txt`"


# --- Python version ---------------------------------------------------------------------------------

@pytest.mark.parametrize("content, found", [("python-2.7.18\n", "2.7.18"), ("python-3.9\n", "3.9")])
def test_end_of_life_python_in_runtime_txt_is_refused(cli, make_app, content, found):
    app = make_app(django_app({"runtime.txt": content}))
    error, hint = error_of(cli("detect", app))
    assert error == f"{app / 'runtime.txt'}:1:8: error: Python {found} (from runtime.txt) reached end of life; " \
                    "flashdrive builds Python 3.10 to 3.14"
    assert hint == "write `python-3.13` in runtime.txt (any of 3.10 to 3.14 works)"


def test_garbage_in_runtime_txt_gets_a_corrected_line(cli, make_app):
    app = make_app(django_app({"runtime.txt": "python3.12\n"}))
    error, hint = error_of(cli("detect", app))
    assert error == f"{app / 'runtime.txt'}:1:1: error: runtime.txt contains 'python3.12', which is not a Python " \
                    "version; runtime.txt holds one line like `python-3.13`"
    assert hint == "replace it with `python-3.12`"


def test_runtime_txt_with_two_versions_points_at_the_second(cli, make_app):
    app = make_app(django_app({"runtime.txt": "python-3.12\n\npython-3.11\n"}))
    error, hint = error_of(cli("detect", app))
    assert error.startswith(f"{app / 'runtime.txt'}:3:1: error: runtime.txt names several Python versions "
                            "('python-3.12' on line 1, 'python-3.11' here)")
    assert hint == "keep only one line, e.g. `python-3.13`"


def test_empty_python_version_file_is_an_error(cli, make_app):
    app = make_app(django_app({".python-version": "# pinned by pyenv\n"}))
    error, hint = error_of(cli("detect", app))
    assert "error: .python-version is empty, so it names no Python version" in error
    assert hint == "write `3.13` in .python-version, or delete the file to use the default 3.13"


def test_python_version_file_with_two_versions_counts_lines_past_comments(cli, make_app):
    app = make_app(django_app({".python-version": "# versions\n3.12\n3.11\n"}))
    error, _ = error_of(cli("detect", app))
    assert error.startswith(f"{app / '.python-version'}:3:1: error: .python-version names several Python versions")


@pytest.mark.parametrize("content, guess", [("system\n", "3.13"), ("pypy3.10\n", "3.10"), ("3.12-dev\n", "3.12")])
def test_python_version_file_that_is_not_cpython_is_refused(cli, make_app, content, guess):
    app = make_app(django_app({".python-version": content}))
    error, hint = error_of(cli("detect", app))
    assert f"error: .python-version contains '{content.strip()}', which is not a CPython version" in error
    assert hint == f"replace it with `{guess}`"


def test_python_from_the_future_is_not_supported_yet(cli, make_app):
    app = make_app(django_app({".python-version": "3.15\n"}))
    error, hint = error_of(cli("detect", app))
    assert error.endswith("error: Python 3.15 (from .python-version) is not released or not supported yet; "
                          "flashdrive builds Python 3.10 to 3.14")
    assert hint == "write `3.13` in .python-version (any of 3.10 to 3.14 works)"


def test_old_python_in_pipfile_lock_points_at_the_key(cli, make_app):
    lock = pipfile_lock({"gunicorn": "==23.0.0"}, requires={"python_version": "3.8"})
    app = make_app({"Pipfile": PIPFILE, "Pipfile.lock": lock, "Procfile": "web: gunicorn app:app\n"})
    error, hint = error_of(cli("detect", app))
    assert error.startswith(f"{app / 'Pipfile.lock'}:8:13: error: Python 3.8 (from Pipfile.lock) reached end of life")
    assert hint == 'set python_version = "3.13" under [requires] in Pipfile, then run `pipenv lock`'


def test_broken_pipfile_lock_json_points_at_the_syntax_error(cli, make_app):
    app = make_app({"Pipfile": PIPFILE, "Pipfile.lock": '{\n  "default": {,\n}\n', "Procfile": "web: x\n"})
    error, _ = error_of(cli("detect", app))
    assert error.startswith(f"{app / 'Pipfile.lock'}:2:15: error: Pipfile.lock is not valid JSON")


def test_broken_poetry_lock_points_at_the_syntax_error(cli, make_app):
    app = make_app({"pyproject.toml": "[tool.poetry]\nname = 'x'\n", "poetry.lock": "[[package]]\nname = \n",
                    "Procfile": "web: x\n"})
    error, hint = error_of(cli("detect", app))
    assert error.startswith(f"{app / 'poetry.lock'}:2:8: error: poetry.lock is not valid TOML: Invalid value")
    assert hint == "fix the syntax of poetry.lock (regenerate it with its tool if it is a lock file)"


# --- requirements.txt ---------------------------------------------------------------------------------

def test_missing_include_in_requirements_points_at_its_line(cli, make_app):
    app = make_app(django_app({"requirements.txt": "gunicorn\n# shared pins\n-r base.txt\n"}))
    error, hint = error_of(cli("detect", app))
    assert error == f"{app / 'requirements.txt'}:3:1: error: requirements.txt includes base.txt, but there is no " \
                    f"such file ({app / 'base.txt'})"
    assert hint == "fix the path (it is relative to requirements.txt's folder) or delete the line"


def test_include_outside_the_app_folder_is_refused(cli, make_app):
    make_app({"common.txt": "django\n"}, name="shared")
    app = make_app(django_app({"requirements.txt": "gunicorn\n-r ../shared/common.txt\n"}))
    error, hint = error_of(cli("detect", app))
    assert "includes ../shared/common.txt, which is outside the app folder" in error
    assert hint == f"move ../shared/common.txt into {app} and include it from there"


def test_editable_package_outside_the_app_folder_is_refused(cli, make_app):
    app = make_app(django_app({"requirements.txt": "gunicorn\n-e ../lib\n"}))
    error, hint = error_of(cli("detect", app))
    assert error.startswith(f"{app / 'requirements.txt'}:2:1: error: requirements.txt installs ../lib, which is "
                            "outside the app folder")
    assert "publish it to a package index" in hint


# --- Procfile -------------------------------------------------------------------------------------------

def test_django_app_without_procfile_gets_the_exact_line(cli, make_app):
    app = make_app(django_app({"Procfile": None}))
    error, hint = error_of(cli("detect", app))
    assert error == f"error: {app} is a Django app without a Procfile, so flashdrive does not know how to start it"
    assert hint == f"create {app / 'Procfile'} containing the line `web: gunicorn shop.wsgi`"


def test_django_app_without_procfile_or_gunicorn_is_told_both(cli, make_app):
    app = make_app(django_app({"Procfile": None, "requirements.txt": "Django\n"}))
    _, hint = error_of(cli("detect", app))
    assert hint == f"create {app / 'Procfile'} containing the line `web: gunicorn shop.wsgi`; " \
                   "then add a line `gunicorn` to requirements.txt"


def test_plain_app_without_procfile_is_told_to_add_one(cli, make_app):
    app = make_app({"requirements.txt": "flask\n", "app.py": ""})
    error, hint = error_of(cli("detect", app))
    assert error == f"error: {app} has no Procfile, so flashdrive does not know which processes to start"
    assert hint.startswith(f"create {app / 'Procfile'} with one line per process")


def test_lowercase_procfile_is_told_to_rename(cli, make_app):
    app = make_app(django_app({"Procfile": None, "procfile": "web: gunicorn shop.wsgi\n"}))
    error, hint = error_of(cli("detect", app))
    assert "has procfile but no Procfile" in error
    assert hint == "rename procfile to Procfile"


def test_malformed_procfile_line_reports_its_line_number(cli, make_app):
    app = make_app(django_app({"Procfile": "# processes\nweb: gunicorn shop.wsgi\nworker celery -A shop worker\n"}))
    error, hint = error_of(cli("detect", app))
    assert error == f"{app / 'Procfile'}:3:1: error: Procfile line 'worker celery -A shop worker' is not a " \
                    "process declaration; each line must be `name: command`"
    assert hint == "write it as `worker: celery -A shop worker`"


def test_procfile_process_name_with_a_space_is_refused(cli, make_app):
    app = make_app(django_app({"Procfile": "web: gunicorn shop.wsgi\nmy worker: celery worker\n"}))
    error, hint = error_of(cli("detect", app))
    assert error.startswith(f"{app / 'Procfile'}:2:1: error: Procfile process name 'my worker' may only contain")
    assert hint == "rename it, e.g. `my-worker: celery worker`"


def test_procfile_process_without_command_is_refused(cli, make_app):
    app = make_app(django_app({"Procfile": "web:\n"}))
    error, hint = error_of(cli("detect", app))
    assert error == f"{app / 'Procfile'}:1:5: error: Procfile process 'web' has no command after the colon"
    assert hint == "write the command to run, e.g. `web: gunicorn myproject.wsgi`"


def test_procfile_declaring_a_process_twice_is_refused(cli, make_app):
    app = make_app(django_app({"Procfile": "web: gunicorn shop.wsgi\nweb: gunicorn shop.wsgi -w 4\n"}))
    error, hint = error_of(cli("detect", app))
    assert error.startswith(f"{app / 'Procfile'}:2:1: error: Procfile declares process 'web' twice (line 1 and here)")
    assert hint == "delete one of the two `web:` lines"


def test_procfile_with_only_a_release_command_has_nothing_to_run(cli, make_app):
    app = make_app(django_app({"Procfile": "release: python manage.py migrate\n"}))
    error, _ = error_of(cli("detect", app))
    assert error == f"{app / 'Procfile'}:1:1: error: Procfile declares no process to run (only a release command)"


# --- gunicorn must be installed ----------------------------------------------------------------------

def test_web_process_running_gunicorn_needs_it_in_requirements(cli, make_app):
    app = make_app(django_app({"requirements.txt": "Django==5.1.4\n", "Procfile": "release: migrate\nweb: gunicorn shop.wsgi\n"}))
    error, hint = error_of(cli("detect", app))
    assert error == f"{app / 'Procfile'}:2:1: error: the web process runs gunicorn, but gunicorn is not in the " \
                    "app's dependencies (requirements.txt), so the image would not have it"
    assert hint == "add a line `gunicorn` to requirements.txt"


def test_gunicorn_only_in_pipenv_dev_packages_is_not_enough(cli, make_app):
    lock = pipfile_lock({"flask": "==3.1.0"}, develop={"gunicorn": "==23.0.0"})
    app = make_app({"Pipfile": PIPFILE, "Pipfile.lock": lock, "Procfile": "web: gunicorn app:app\n"})
    error, hint = error_of(cli("detect", app))
    assert "gunicorn is not in the app's dependencies (Pipfile)" in error
    assert hint == "run `pipenv install gunicorn` (it updates Pipfile and Pipfile.lock) and commit both"


POETRY_LOCK_WITHOUT_GUNICORN = """
[[package]]
name = "flask"
version = "3.1.0"
optional = false
python-versions = ">=3.9"
groups = ["main"]
files = []

[[package]]
name = "gunicorn"
version = "23.0.0"
optional = false
python-versions = ">=3.7"
groups = ["dev"]
files = []

[metadata]
lock-version = "2.1"
python-versions = "^3.12"
content-hash = "0"
"""


def test_gunicorn_only_in_a_poetry_dev_group_is_not_enough(cli, make_app):
    app = make_app({
        "pyproject.toml": '[tool.poetry]\nname = "x"\n[tool.poetry.dependencies]\npython = "^3.12"\nflask = "*"\n'
                          '[tool.poetry.group.dev.dependencies]\ngunicorn = "*"\n',
        "poetry.lock": POETRY_LOCK_WITHOUT_GUNICORN,
        "Procfile": "web: exec gunicorn app:app\n",
    })
    _, hint = error_of(cli("detect", app))
    assert hint == "run `poetry add gunicorn` (it updates pyproject.toml and poetry.lock) and commit both"


def test_uv_app_running_gunicorn_without_it_is_told_to_uv_add(cli, make_app):
    app = make_app({
        "pyproject.toml": '[project]\nname = "api"\nversion = "0.1.0"\ndependencies = ["flask"]\n',
        "uv.lock": 'version = 1\n\n[[package]]\nname = "api"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
                   'dependencies = [{ name = "flask" }]\n\n[[package]]\nname = "flask"\nversion = "3.1.0"\n'
                   'source = { registry = "https://pypi.org/simple" }\n',
        "Procfile": "web: python -m gunicorn app:app\n",
    })
    _, hint = error_of(cli("detect", app))
    assert hint == "run `uv add gunicorn` (it updates pyproject.toml and uv.lock) and commit both"


def test_worker_that_runs_gunicorn_without_it_is_left_to_the_spec_check(cli, make_app):
    # detect only insists for the web process; the spec validator checks the process an app runs.
    app = make_app({"requirements.txt": "flask\n", "Procfile": "worker: gunicorn app:app\n"})
    assert cli("detect", app).code == 0


# --- command-line usage ---------------------------------------------------------------------------------

def test_detect_without_app_dir_is_a_usage_error(cli):
    assert cli("detect").code == 2


def test_malformed_build_env_is_a_usage_error(cli, make_app):
    app = make_app(django_app())
    run = cli("dockerfile", app, "--build-env", "NOVALUE")
    assert run.code == 2 and "NOVALUE" in run.err
