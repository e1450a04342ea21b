"""Apps written the way users write them deploy and serve a page over HTTPS that reads from their
database over TLS: the hosting guide's own Django app (django-heroku, psycopg2 built from source),
a Heroku-style app set up by `flashdrive init` from its app.json (ALLOWED_HOSTS without internal
names, SECURE_SSL_REDIRECT, `ssl_require=True`, psycopg's C build, a git-ignored .env), and a
Django blog on MySQL through mysqlclient (compiled against MariaDB Connector/C).

Each is copied to a temporary folder (the build writes .flashdrive/ into its source) and deployed
through tests/e2e/deploy.py under a stack name of its own; everything is removed afterwards.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from harness import Deployment, https, retry, temp_folder, write_overlay

pytestmark = pytest.mark.e2e

APPS = Path(__file__).resolve().parent / "apps"


def _deploy(stack: str, app: str, spec: str | None, images: dict[str, str]):
    from deploy import destroy_stack

    folder = temp_folder()
    shutil.copytree(APPS / app, folder / "app")
    if spec is None:  # as a user would: `flashdrive init app`, then deploy what it wrote
        from flashdrive.cli.main import main
        import os

        here = os.getcwd()
        os.chdir(folder)
        try:
            assert main(["init", "app"]) == 0
        finally:
            os.chdir(here)
    else:
        (folder / "flashdrive.yaml").write_text(textwrap.dedent(spec))
    overlay = write_overlay(folder, stack, images, "backups: {enabled: false}\n")
    destroy_stack(stack=stack)
    return Deployment(stack, folder / "flashdrive.yaml", overlay, {}, images=images), folder


@pytest.fixture(scope="module")
def deployed(stand_in_images):
    """Deploys one fixture app per test (parametrised by name) and tears it down after."""
    from deploy import destroy_stack

    made: list[str] = []

    def deploy(stack: str, app: str, spec: str | None) -> Deployment:
        deployment, _ = _deploy(stack, app, spec, stand_in_images)
        made.append(stack)
        deployment.deploy()
        print(f"[e2e] {stack} deployed in {deployment.seconds:.1f}s; builds: {deployment.last.build_seconds}",
              file=sys.stderr)
        return deployment

    yield deploy
    for stack in made:
        destroy_stack(stack=stack)


def _page(deployment: Deployment, path: str) -> tuple[int, str]:
    host = deployment.last.urls["web"].removeprefix("https://")
    ca = Path(deployment.last.ca_pem).read_text() if deployment.last.ca_pem else ""

    def get():
        status, _, body = https(host, path, ca_pem=ca, address=deployment.address)
        assert status == 200, (status, body[:300])
        return status, body.decode()
    return retry(get, seconds=90)


def _no_compiler_and_no_secrets_file(deployment: Deployment) -> None:
    found = deployment.exec("web-1", "sh", "-c", "command -v gcc cc pg_config mysql_config; ls -a /app",
                            check=False).stdout.split()
    assert not any(tool.endswith(("/gcc", "/cc", "/pg_config", "/mysql_config")) for tool in found), found
    assert ".env" not in found


GUIDE_SPEC = """\
    version: 1
    stack: guide
    apps:
      web:
        source: ./app
        env:
          DATABASE_URL: ${databases.main.url}
          SECRET_KEY: {generate: secret, length: 50}
    databases:
      main: {engine: postgres}
"""

MYSQL_SPEC = """\
    version: 1
    stack: blog
    apps:
      web:
        source: ./app
        env:
          DATABASE_URL: ${databases.main.url}
          SECRET_KEY: {generate: secret, length: 50}
    databases:
      main: {engine: mysql}
"""


def test_the_hosting_guide_s_app_serves_https_from_postgres_over_tls(deployed):
    deployment = deployed("realapps-guide", "guide_django", GUIDE_SPEC)
    _, body = _page(deployment, "/")
    assert body.startswith("notes: ") and body.endswith("database over TLS: True\n"), body
    _no_compiler_and_no_secrets_file(deployment)


def test_a_heroku_app_set_up_by_init_from_app_json_serves_https_from_postgres_over_tls(deployed):
    deployment = deployed("realapps-heroku", "heroku_style", None)
    _, body = _page(deployment, "/db/")
    assert "database over TLS: True" in body, body
    # app.json's formation: two copies, both healthy although the app refuses internal names
    # and redirects plain HTTP (the probes ask as real traffic does)
    def healthy(node: str) -> None:
        health = deployment.inspect(node)["State"]["Health"]
        assert health["Status"] == "healthy", health["Log"][-1:]
    for node in ("web-1", "web-2"):
        retry(lambda: healthy(node), seconds=90)
    _no_compiler_and_no_secrets_file(deployment)


def test_a_django_blog_on_mysql_with_mysqlclient_serves_https_over_tls(deployed):
    deployment = deployed("realapps-mysql", "mysql_django", MYSQL_SPEC)
    _, body = _page(deployment, "/")
    assert body.startswith("posts: ") and "database over TLS: no" not in body and "TLS_" in body, body
    _no_compiler_and_no_secrets_file(deployment)
