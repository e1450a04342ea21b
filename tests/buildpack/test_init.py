"""`flashdrive init`: a starter flashdrive.yaml written from what detection found."""

from __future__ import annotations

import shutil

import pytest
import yaml

from buildpack_helpers import FIXTURES, django_app
from flashdrive.buildpack.starter import SCHEMA_COMMENT, dns_label, stack_name
from flashdrive.spec.loader import load_spec


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder `shop-project` holding the app, as the current directory."""
    root = tmp_path / "Shop_Project"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


def test_init_writes_a_spec_for_a_django_app_with_postgres_and_redis(cli, project):
    shutil.copytree(FIXTURES / "pip_django", project / "app")
    result = cli("init", "app")
    assert result.code == 0, result.err
    assert result.out == ("Wrote flashdrive.yaml for ./app: stack 'shop-project', apps web (web), worker (worker), "
                          "databases main (postgres), cache (redis).\n"
                          "Next: review it, then run `flashdrive validate`.\n")
    text = (project / "flashdrive.yaml").read_text()
    assert text.splitlines()[0] == SCHEMA_COMMENT == (
        "# yaml-language-server: $schema=https://raw.githubusercontent.com/flashdrive/flashdrive/main/flashdrive.schema.json")
    env = {"SECRET_KEY": {"generate": "secret", "length": 50},
           "DATABASE_URL": "${databases.main.url}", "REDIS_URL": "${databases.cache.url}"}
    assert yaml.safe_load(text) == {
        "version": 1,
        "stack": "shop-project",
        "backend": "docker",
        "apps": {
            "web": {"source": "./app", "type": "web", "port": 8000, "env": env},
            "worker": {"source": "./app", "type": "worker", "env": env},
        },
        "databases": {"main": {"engine": "postgres"}, "cache": {"engine": "redis"}},
    }
    assert "# release: the Procfile's `python manage.py migrate --noinput` runs before each deploy" in text


def test_init_output_passes_the_spec_validator(cli, project):
    shutil.copytree(FIXTURES / "pip_django", project / "app")
    assert cli("init", "app").code == 0
    loaded = load_spec(project / "flashdrive.yaml")
    assert set(loaded.spec.apps) == {"web", "worker"}


def test_init_in_the_app_folder_itself_uses_dot_as_source(cli, tmp_path, monkeypatch):
    app = tmp_path / "blog"
    shutil.copytree(FIXTURES / "poetry_django", app)
    monkeypatch.chdir(app)
    assert cli("init").code == 0
    spec = yaml.safe_load((app / "flashdrive.yaml").read_text())
    assert spec["stack"] == "blog"
    assert spec["apps"] == {"web": {"source": ".", "type": "web", "port": 8000, "env": {
        "SECRET_KEY": {"generate": "secret", "length": 50}, "DATABASE_URL": "${databases.main.url}"}}}
    assert "# release: the Procfile's" in (app / "flashdrive.yaml").read_text()


def test_init_makes_each_non_web_process_a_worker_with_its_process(cli, project):
    shutil.copytree(FIXTURES / "pip_worker", project / "jobs")
    assert cli("init", "jobs").code == 0
    spec = yaml.safe_load((project / "flashdrive.yaml").read_text())
    assert spec["stack"] == "jobs"
    assert spec["apps"] == {"worker": {"source": "./jobs", "type": "worker"},
                            "clock": {"source": "./jobs", "type": "worker", "process": "clock"}}
    assert "databases" not in spec


def test_init_gives_a_gunicorn_process_the_web_type(cli, project, make_app):
    make_app({"requirements.txt": "flask\ngunicorn\n", ".python-version": "3.12\n",
              "Procfile": "api_v2: gunicorn api:app\n"}, name="Shop_Project/api")
    assert cli("init", "api").code == 0
    spec = yaml.safe_load((project / "flashdrive.yaml").read_text())
    assert spec["apps"] == {"api-v2": {"source": "./api", "type": "web", "process": "api_v2", "port": 8000}}


def test_init_refuses_to_overwrite_an_existing_spec(cli, project):
    shutil.copytree(FIXTURES / "pip_worker", project / "jobs")
    (project / "flashdrive.yaml").write_text("version: 1\n")
    result = cli("init", "jobs")
    assert result.code == 1
    assert result.err == ("flashdrive.yaml:1:1: error: flashdrive.yaml already exists here; init does not overwrite a spec\n"
                          "    run `flashdrive init jobs --force` to replace it, or edit it by hand\n")
    assert (project / "flashdrive.yaml").read_text() == "version: 1\n"


def test_init_force_overwrites(cli, project):
    shutil.copytree(FIXTURES / "pip_worker", project / "jobs")
    (project / "flashdrive.yaml").write_text("version: 1\n")
    assert cli("init", "jobs", "--force").code == 0
    assert "stack: jobs" in (project / "flashdrive.yaml").read_text()


def test_init_of_a_broken_app_writes_nothing(cli, project, make_app):
    make_app(django_app({"Procfile": None}), name="Shop_Project/app")
    result = cli("init", "app")
    assert result.code == 1 and "web: gunicorn shop.wsgi" in result.err
    assert not (project / "flashdrive.yaml").exists()


@pytest.mark.parametrize("folder, label", [
    ("My Shop!", "my-shop"),
    ("2024_site", "site"),
    ("ünïcode-app", "n-code-app"),
    ("x" * 40, "x" * 30),
    ("---", "app"),
])
def test_stack_names_are_dns_labels(folder, label):
    assert dns_label(folder, fallback="app", max_length=30) == label


def test_a_generic_app_folder_name_takes_the_project_folder_name(tmp_path):
    (tmp_path / "acme" / "src").mkdir(parents=True)
    assert stack_name(tmp_path / "acme" / "src", tmp_path / "acme") == "acme"
    assert stack_name(tmp_path / "acme", tmp_path) == "acme"
