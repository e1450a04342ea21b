"""What detection finds in each supported layout (the fixture apps), through `flashdrive detect`."""

from __future__ import annotations

import json

import pytest

from buildpack_helpers import FIXTURES, PIPFILE, django_app, pipfile_lock
from flashdrive.buildpack import DEFAULT_PYTHON_VERSION, detect

CLI_MD_KEYS = ["python_version", "python_version_source", "package_manager", "processes", "release", "django", "warnings"]


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.iterdir()))
def test_detect_json_has_exactly_the_keys_of_cli_md(cli, fixture):
    result = cli("detect", FIXTURES / fixture, "--json")
    assert result.code == 0
    document = json.loads(result.out)
    assert list(document) == CLI_MD_KEYS
    if document["django"] is not None:
        assert list(document["django"]) == ["manage_py", "collectstatic", "wsgi_module"]


def test_pip_django_app_with_web_worker_and_release(cli):
    document = json.loads(cli("detect", FIXTURES / "pip_django", "--json").out)
    assert document == {
        "python_version": "3.12",
        "python_version_source": ".python-version",
        "package_manager": "pip",
        "processes": {"web": "gunicorn shop.wsgi --log-file -", "worker": "celery -A shop worker --loglevel=info"},
        "release": "python manage.py migrate --noinput",
        "django": {"manage_py": "manage.py", "collectstatic": True, "wsgi_module": "shop.wsgi"},
        "warnings": [],
    }


def test_pip_requirements_follow_includes_and_strip_extras_markers_and_hashes():
    detection = detect(FIXTURES / "pip_django")
    assert detection.dependency_files == ("requirements.txt", "requirements/base.txt")
    assert detection.dependencies == {"django", "dj-database-url", "whitenoise", "gunicorn", "psycopg", "celery"}


def test_pipenv_app_takes_python_from_pipfile_lock_and_packages_from_its_default_section():
    detection = detect(FIXTURES / "pipenv_flask")
    assert (detection.package_manager, detection.python_version, detection.python_version_source) == \
           ("pipenv", "3.11", "Pipfile.lock")
    assert detection.dependency_files == ("Pipfile", "Pipfile.lock")
    assert "gunicorn" in detection.dependencies and "flask" in detection.dependencies
    assert "pytest" not in detection.dependencies  # develop packages are not installed
    assert detection.django is None


def test_poetry_app_pins_a_patch_version_in_runtime_txt():
    detection = detect(FIXTURES / "poetry_django")
    assert (detection.python_version, detection.python_full_version, detection.python_version_source) == \
           ("3.13", "3.13.1", "runtime.txt")
    assert detection.package_manager == "poetry"
    # pyproject names a readme, which building the project's metadata reads.
    assert detection.dependency_files == ("pyproject.toml", "poetry.lock", "README.md")
    assert detection.dependencies == {"django", "asgiref", "sqlparse", "tzdata", "gunicorn", "packaging", "psycopg2-binary"}
    assert detection.release == "python manage.py migrate --noinput"


def test_poetry_django_app_without_staticfiles_skips_collectstatic():
    django = detect(FIXTURES / "poetry_django").django
    assert django is not None
    assert (django.collectstatic, django.wsgi_module, django.settings_module) == (False, "blog.wsgi", "blog.settings")


def test_uv_app_installs_what_the_project_needs_through_the_lock():
    detection = detect(FIXTURES / "uv_celery")
    assert (detection.package_manager, detection.python_version, detection.python_version_source) == \
           ("uv", "3.14", ".python-version")
    assert {"flask", "gunicorn", "celery", "redis", "kombu", "werkzeug"} <= detection.dependencies
    assert "pytest" not in detection.dependencies  # a dev group: `uv sync --no-dev` leaves it out
    assert detection.processes == {"web": "python -m gunicorn app.wsgi:application --workers 2",
                                   "worker": "celery -A app.tasks worker"}


def test_worker_only_app_uses_the_default_python_and_says_how_to_pin_it():
    detection = detect(FIXTURES / "pip_worker")
    assert (detection.python_version, detection.python_version_source) == (DEFAULT_PYTHON_VERSION, "default")
    assert list(detection.processes) == ["worker", "clock"]
    assert detection.warnings == (
        "no Python version is pinned, so the default 3.13 is used and will change in a later flashdrive release; "
        "pin it with a .python-version file containing 3.13.",
    )


def test_editable_install_of_the_app_itself_installs_after_the_source():
    detection = detect(FIXTURES / "pip_editable")
    assert detection.installs_app_source
    assert {"greeter", "flask", "gunicorn"} <= detection.dependencies  # from pyproject's [project]


def test_text_summary_reads_like_a_report(cli):
    result = cli("detect", FIXTURES / "pip_django")
    assert result.code == 0
    assert result.out == (
        f"App folder:       {FIXTURES / 'pip_django'}\n"
        "Python:           3.12, from .python-version\n"
        "Package manager:  pip (requirements.txt, requirements/base.txt)\n"
        "Processes:\n"
        "  web:    gunicorn shop.wsgi --log-file -\n"
        "  worker: celery -A shop worker --loglevel=info\n"
        "Release:          python manage.py migrate --noinput\n"
        "Django:           manage.py, settings shop.settings, WSGI module shop.wsgi\n"
        "Collectstatic:    at build\n"
    )


# --- Python version precedence ---------------------------------------------------------------------------

def test_runtime_txt_wins_over_python_version_and_the_disagreement_is_a_warning(make_app):
    detection = detect(make_app(django_app({"runtime.txt": "python-3.11.9\n", ".python-version": "3.12\n"})))
    assert (detection.python_version, detection.python_full_version, detection.python_version_source) == \
           ("3.11", "3.11.9", "runtime.txt")
    assert detection.warnings == ("runtime.txt asks for Python 3.11 but .python-version asks for 3.12; runtime.txt "
                                  "wins. Delete one of them so they cannot disagree.",)


def test_python_version_file_allows_comments_and_patch_versions(make_app):
    detection = detect(make_app(django_app({".python-version": "# pyenv\n\n3.14.1\n"})))
    assert (detection.python_version, detection.python_full_version, detection.python_version_source) == \
           ("3.14", "3.14.1", ".python-version")


def test_python_version_file_wins_over_pipfile_lock(make_app):
    lock = pipfile_lock({"gunicorn": "==23.0.0"}, requires={"python_version": "3.11"})
    app = make_app({"Pipfile": PIPFILE, "Pipfile.lock": lock, ".python-version": "3.12\n", "Procfile": "web: gunicorn a:b\n"})
    assert detect(app).python_version_source == ".python-version"


def test_pipfile_lock_full_version_comes_before_its_short_version_and_is_flagged(make_app):
    lock = pipfile_lock({"gunicorn": "==23.0.0"}, requires={"python_version": "3.11", "python_full_version": "3.12.4"})
    detection = detect(make_app({"Pipfile": PIPFILE, "Pipfile.lock": lock, "Procfile": "web: gunicorn a:b\n"}))
    assert (detection.python_version, detection.python_full_version) == ("3.12", "3.12.4")
    assert any("`pipenv install --deploy` refuses any other" in warning for warning in detection.warnings)


def test_pipfile_lock_without_a_python_requirement_falls_back_to_the_default(make_app):
    lock = pipfile_lock({"gunicorn": "==23.0.0"}, requires={})
    detection = detect(make_app({"Pipfile": PIPFILE, "Pipfile.lock": lock, "Procfile": "web: gunicorn a:b\n"}))
    assert (detection.python_version, detection.python_version_source) == (DEFAULT_PYTHON_VERSION, "default")


# --- warnings about the Procfile and dependencies ---------------------------------------------------------

def test_gunicorn_bound_to_localhost_is_a_warning(make_app):
    detection = detect(make_app(django_app({"Procfile": "web: gunicorn shop.wsgi --bind 127.0.0.1:8000\n"})))
    assert detection.warnings == ("Procfile:1: process 'web' binds gunicorn to localhost, which nothing outside the "
                                  "container can reach; drop the --bind option (flashdrive binds 0.0.0.0:$PORT).",)


def test_django_runserver_in_production_is_a_warning(make_app):
    detection = detect(make_app(django_app({"Procfile": "web: python manage.py runserver 0.0.0.0:$PORT\n"})))
    assert any("Django's development server" in warning for warning in detection.warnings)


def test_git_requirement_warns_that_the_slim_image_has_no_git(make_app):
    requirements = "gunicorn\nDjango\ngit+https://github.com/acme/toolkit.git@v1#egg=acme-toolkit\n"
    detection = detect(make_app(django_app({"requirements.txt": requirements})))
    assert "acme-toolkit" in detection.dependencies
    assert detection.warnings[0].startswith("requirements.txt:3 installs from version control")


def test_dockerignore_hiding_the_flashdrive_folder_is_a_warning(make_app):
    detection = detect(make_app(django_app({".dockerignore": ".*\n!.python-version\n"})))
    assert detection.warnings == (".dockerignore excludes .flashdrive/, where flashdrive puts build inputs such as "
                                  "the CA bundle; add a line `!.flashdrive` to it.",)
