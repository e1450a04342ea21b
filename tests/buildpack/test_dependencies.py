"""What each package manager's files say gets installed."""

from __future__ import annotations

from flashdrive.buildpack import detect
from flashdrive.buildpack.dependencies import normalize_name, read_dependencies


def test_names_are_pep503_normalised():
    assert normalize_name("Django_Heroku") == normalize_name("django.heroku") == "django-heroku"


def test_requirements_lines_of_every_shape(make_app):
    app = make_app({
        "requirements.txt": """
            # a comment line
            --index-url https://pypi.org/simple
            -c constraints.txt
            Django>=5.0,<6 ; python_version >= "3.10"
            whitenoise[brotli]==6.8.2  # trailing comment
            psycopg2-binary==2.9.10 \\
                --hash=sha256:abc \\
                --hash=sha256:def
            Requests
            -e git+https://github.com/acme/toolkit.git@v1#egg=acme_toolkit
            https://example.com/wheels/sentry_sdk-2.19.0-py2.py3-none-any.whl
            https://example.com/dist/django-ninja-1.3.0.tar.gz
            gunicorn @ https://example.com/gunicorn-23.0.0-py3-none-any.whl
            --requirement=extra/more.txt
            -rextra/even-more.txt
        """,
        "constraints.txt": "urllib3<3\n",
        "extra/more.txt": "celery[redis]\n",
        "extra/even-more.txt": "-r more.txt\nrich\n",
        "Procfile": "worker: python w.py\n",
    })
    deps = read_dependencies(app, "pip")
    assert deps.names == {"django", "whitenoise", "psycopg2-binary", "requests", "acme-toolkit", "sentry-sdk",
                          "django-ninja", "gunicorn", "celery", "rich"}
    # every file the install reads, so the Dockerfile copies it before installing
    assert deps.files == ["requirements.txt", "constraints.txt", "extra/more.txt", "extra/even-more.txt"]
    assert not deps.installs_app_source


def test_include_cycles_are_read_once(make_app):
    app = make_app({"requirements.txt": "-r a.txt\n", "a.txt": "-r requirements.txt\nflask\n", "Procfile": "w: x\n"})
    deps = read_dependencies(app, "pip")
    assert deps.files == ["requirements.txt", "a.txt"] and deps.names == {"flask"}


def test_editable_local_package_reads_its_pyproject(make_app):
    app = make_app({
        "requirements.txt": "-e ./libs/billing\n",
        "libs/billing/pyproject.toml": '[project]\nname = "billing"\ndependencies = ["stripe>=11", "gunicorn"]\n',
        "Procfile": "web: gunicorn app:app\n",
    })
    deps = read_dependencies(app, "pip")
    assert deps.installs_app_source
    assert deps.names == {"billing", "stripe", "gunicorn"}


def test_pipfile_lock_default_packages_only(make_app):
    from buildpack_helpers import PIPFILE, pipfile_lock

    app = make_app({"Pipfile": PIPFILE, "Pipfile.lock": pipfile_lock({"Flask": "==3.1.0"}, develop={"pytest": "==8"}),
                    "Procfile": "w: x\n"})
    deps = read_dependencies(app, "pipenv")
    assert deps.names == {"flask"} and deps.files == ["Pipfile", "Pipfile.lock"]


OLD_POETRY_LOCK = """
[[package]]
name = "django"
version = "4.2.0"
optional = false
python-versions = ">=3.8"

[package.dependencies]
asgiref = ">=3.6.0,<4"

[[package]]
name = "asgiref"
version = "3.8.1"
optional = false
python-versions = ">=3.8"

[[package]]
name = "psycopg"
version = "3.2.3"
optional = false
python-versions = ">=3.8"

[package.dependencies]
psycopg-binary = {version = "3.2.3", optional = true, markers = "extra == \\"binary\\""}
psycopg-pool = {version = "*", optional = true, markers = "extra == \\"pool\\""}

[package.extras]
binary = ["psycopg-binary (==3.2.3)"]
pool = ["psycopg-pool"]

[[package]]
name = "psycopg-binary"
version = "3.2.3"
optional = true
python-versions = ">=3.8"

[[package]]
name = "psycopg-pool"
version = "3.2.4"
optional = true
python-versions = ">=3.8"

[[package]]
name = "pytest"
version = "8.3.4"
optional = false
python-versions = ">=3.8"

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "0"
"""


def test_poetry_lock_without_groups_is_walked_from_the_main_dependencies(make_app):
    app = make_app({
        "pyproject.toml": """
            [tool.poetry]
            name = "shop"

            [tool.poetry.dependencies]
            python = "^3.11"
            Django = "^4.2"
            psycopg = {version = "^3.2", extras = ["binary"]}

            [tool.poetry.group.dev.dependencies]
            pytest = "*"
        """,
        "poetry.lock": OLD_POETRY_LOCK,
        "Procfile": "w: x\n",
    })
    deps = read_dependencies(app, "poetry")
    # the asked-for extra pulls in psycopg-binary; the pool extra and the dev group stay out
    assert deps.names == {"django", "asgiref", "psycopg", "psycopg-binary"}


def test_poetry_pep621_dependencies_count_too(make_app):
    app = make_app({
        "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["gunicorn>=23", "Django"]\n[tool.poetry]\npackage-mode = false\n',
        "poetry.lock": '[metadata]\nlock-version = "2.1"\n',
        "Procfile": "web: gunicorn shop.wsgi\n",
    })
    assert detect(app).dependencies == {"gunicorn", "django"}


def test_poetry_project_without_its_package_folder_is_warned_about(make_app):
    app = make_app({
        "pyproject.toml": '[tool.poetry]\nname = "my-site"\n[tool.poetry.dependencies]\npython = "^3.12"\n',
        "poetry.lock": '[metadata]\nlock-version = "2.1"\n',
        "Procfile": "worker: python run.py\n",
        ".python-version": "3.12\n",
    })
    assert detect(app).warnings == (
        "pyproject.toml: `poetry sync` installs the project 'my-site' itself, but there is no my_site/ package "
        "folder, so the install fails. Set `package-mode = false` under [tool.poetry] (an app need not be a package).",
    )
    (app / "my_site").mkdir()
    assert detect(app).warnings == ()
