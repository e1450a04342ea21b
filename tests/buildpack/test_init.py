"""`flashdrive init`: a starter flashdrive.yaml written from what detection found."""

from __future__ import annotations

import shutil

import pytest
import yaml

from buildpack_helpers import FIXTURES, django_app
from flashdrive.buildpack.starter import SCHEMA_COMMENT, dns_label, stack_name_for_folder
from flashdrive.pipeline import check_spec
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
    assert result.out == ("Wrote flashdrive.yaml (and flashdrive.schema.json, for editors) for ./app: stack "
                          "'shop-project', apps web (web), worker (worker), "
                          "databases main (postgres), cache (redis).\n"
                          "Next: review it, then run `flashdrive validate`.\n")
    text = (project / "flashdrive.yaml").read_text()
    assert text.splitlines()[0] == SCHEMA_COMMENT == "# yaml-language-server: $schema=./flashdrive.schema.json"
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
    loaded = check_spec(project / "flashdrive.yaml").loaded
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
    assert stack_name_for_folder(tmp_path / "acme" / "src", tmp_path / "acme") == "acme"
    assert stack_name_for_folder(tmp_path / "acme", tmp_path) == "acme"


E2E_APPS = FIXTURES.parents[1] / "e2e" / "apps"


def test_the_schema_init_points_at_is_written_beside_the_spec_and_validates_it(cli, project):
    import json

    import jsonschema

    from flashdrive.spec.schema import json_schema

    shutil.copytree(FIXTURES / "pip_django", project / "app")
    assert cli("init", "app").code == 0
    reference = (project / "flashdrive.yaml").read_text().splitlines()[0].split("$schema=", 1)[1]
    schema_path = (project / reference).resolve()
    assert schema_path == project / "flashdrive.schema.json"
    schema = json.loads(schema_path.read_text())
    assert schema == json_schema()
    jsonschema.validate(yaml.safe_load((project / "flashdrive.yaml").read_text()), schema)


def test_init_reads_app_json_env_addons_and_formation(cli, project):
    shutil.copytree(E2E_APPS / "heroku_style", project / "app")
    result = cli("init", "app")
    assert result.code == 0, result.err
    assert "add-ons without an equivalent: papertrail:choklad" in result.out
    text = (project / "flashdrive.yaml").read_text()
    spec = yaml.safe_load(text)
    web = spec["apps"]["web"]
    # standard-2x has 1 GiB: size m; quantity 2: two nodes
    assert (web["size"], web["nodes"]) == ("m", 2)
    assert web["env"] == {
        "DJANGO_SECRET_KEY": {"generate": "secret", "length": 64},  # the app reads this one, not SECRET_KEY
        "WEB_CONCURRENCY": "2",
        "DATABASE_URL": "${databases.main.url}",
    }
    assert "# SENTRY_DSN: optional in app.json, no default: Where errors are reported." in text
    assert spec["databases"] == {"main": {"engine": "postgres"}}
    assert "  main:  # app.json add-on for DATABASE_URL" in text
    assert "# app.json add-ons with no flashdrive equivalent" in text and "papertrail:choklad" in text
    assert load_spec(project / "flashdrive.yaml").spec.apps["web"].nodes == 2


@pytest.mark.parametrize("app_json, expected_env, expected_databases", [
    ({"env": {"API_TOKEN": {"required": True, "description": "the payment API"}, "MODE": "live"},
      "addons": [{"plan": "heroku-postgresql", "as": "ANALYTICS"}, "heroku-redis:mini", "jawsdb"]},
     {"API_TOKEN": {"config": "apiToken"}, "MODE": "live", "ANALYTICS_URL": "${databases.analytics.url}",
      "REDIS_URL": "${databases.cache.url}", "JAWSDB_URL": "${databases.mysql.url}"},
     {"analytics": {"engine": "postgres"}, "cache": {"engine": "redis"}, "mysql": {"engine": "mysql"}}),
    ({"addons": ["cleardb:ignite", "mongolab"]},
     {"CLEARDB_DATABASE_URL": "${databases.main.url}", "MONGODB_URI": "${databases.mongo.url}"},
     {"main": {"engine": "mysql"}, "mongo": {"engine": "mongodb"}}),
])
def test_app_json_addons_become_databases_under_heroku_s_variable_names(cli, project, make_app, app_json,
                                                                         expected_env, expected_databases):
    import json

    make_app({"requirements.txt": "flask\ngunicorn\n", ".python-version": "3.12\n", "Procfile": "web: gunicorn a:app\n",
              "app.json": json.dumps(app_json)}, name="Shop_Project/api")
    assert cli("init", "api").code == 0
    spec = yaml.safe_load((project / "flashdrive.yaml").read_text())
    assert spec["apps"]["web"]["env"] == expected_env
    assert spec["databases"] == expected_databases


@pytest.mark.parametrize("requirements, databases, url_variable", [
    ("django\ngunicorn\ndjango-heroku\n", {"main": {"engine": "postgres"}}, "DATABASE_URL"),
    ("django\ngunicorn\nmysqlclient\ndj-database-url\n", {"main": {"engine": "mysql"}}, "DATABASE_URL"),
    ("flask\ngunicorn\npymongo\n", {"mongo": {"engine": "mongodb"}}, "MONGODB_URI"),
])
def test_a_dependency_that_implies_a_database_adds_it(cli, project, make_app, requirements, databases, url_variable):
    make_app({"requirements.txt": requirements, ".python-version": "3.12\n", "Procfile": "web: gunicorn a:app\n"},
             name="Shop_Project/api")
    assert cli("init", "api").code == 0
    spec = yaml.safe_load((project / "flashdrive.yaml").read_text())
    assert spec["databases"] == databases
    assert spec["apps"]["web"]["env"][url_variable] == f"${{databases.{next(iter(databases))}.url}}"


def test_app_json_postdeploy_is_noted_not_dropped(cli, project, make_app):
    make_app({"requirements.txt": "flask\ngunicorn\n", ".python-version": "3.12\n", "Procfile": "web: gunicorn a:app\n",
              "app.json": '{"scripts": {"postdeploy": "python seed.py"}, "formation": {"web": {"quantity": 40}}}'},
             name="Shop_Project/api")
    result = cli("init", "api")
    assert "app.json's postdeploy `python seed.py` is yours to run once" in result.out
    text = (project / "flashdrive.yaml").read_text()
    assert "# app.json runs `python seed.py` once after the first deploy (scripts.postdeploy)" in text
    assert "    nodes: 20  # from app.json's formation: quantity 40 is outside 1..20" in text


def test_a_broken_app_json_is_an_error_at_its_line(cli, project, make_app):
    make_app({"requirements.txt": "flask\ngunicorn\n", ".python-version": "3.12\n", "Procfile": "web: gunicorn a:app\n",
              "app.json": '{\n  "env": {,}\n}\n'}, name="Shop_Project/api")
    result = cli("init", "api")
    assert result.code == 1 and "app.json:2:" in result.err and "not valid JSON" in result.err
    assert not (project / "flashdrive.yaml").exists()
