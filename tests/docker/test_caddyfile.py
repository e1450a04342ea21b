"""The edge's generated Caddyfile: routes, balancing, TLS modes — and the real `caddy validate` accepts it."""

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from flashdrive.docker.caddyfile import certificate_sources, render_caddyfile
from flashdrive.model import resolve
from flashdrive.pipeline import check_spec

SPEC = """\
version: 1
stack: shop
tls: {email: ops@example.com, default_domain: localhost}
apps:
  web:
    image: ghcr.io/acme/web:1.4
    nodes: 3
    health_check: {path: /healthz, interval_s: 7, timeout_s: 2}
    domains:
      - shop.example.com
      - host: admin.example.com
        certificate: {config: adminCertPem}
        key: {config: adminKeyPem}
  api:
    image: ghcr.io/acme/api:2
    port: 9000
  jobs:
    image: ghcr.io/acme/web:1.4
    type: worker
"""


@pytest.fixture
def stack(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(SPEC)
    return resolve(*check_spec(spec))


def _site(caddyfile: str, host: str) -> str:
    start = caddyfile.index(f"\n{host} {{")
    return caddyfile[start:caddyfile.index("\n}\n", start)]


def test_every_copy_is_an_upstream_with_least_connections_and_active_health_checks(stack):
    caddyfile = render_caddyfile(stack)
    snippet = caddyfile[caddyfile.index("(app-web) {"):]
    assert "reverse_proxy web-1:8000 web-2:8000 web-3:8000 {" in snippet
    assert "lb_policy least_conn" in snippet
    assert "health_uri /healthz" in snippet and "health_interval 7s" in snippet and "health_timeout 2s" in snippet
    assert "reverse_proxy api-1:9000 {" in caddyfile


def test_a_copy_that_refuses_a_connection_is_retried_on_another_copy(stack):
    # During a deploy a stopping copy refuses new connections: the client must never see that.
    snippet = render_caddyfile(stack).split("(app-web) {", 1)[1].split("\n}\n", 1)[0]
    assert "\t\tlb_try_duration 5s" in snippet and "\t\tlb_try_interval 250ms" in snippet


def test_a_copy_that_failed_is_skipped_for_a_while_only_when_there_is_another(stack):
    caddyfile = render_caddyfile(stack)
    web, api = (caddyfile.split(f"(app-{app}) {{", 1)[1].split("\n}\n", 1)[0] for app in ("web", "api"))
    assert "fail_duration 30s" in web
    # One copy (a stop-first app's): skipping it after a failure would only stretch its restart.
    assert "fail_duration" not in api and "health_uri" in api


def test_custom_domains_use_acme_and_the_default_domain_the_internal_ca(stack):
    caddyfile = render_caddyfile(stack)
    assert "email ops@example.com" in caddyfile
    acme = _site(caddyfile, "shop.example.com")
    assert "tls" not in acme and "import app-web" in acme
    default = _site(caddyfile, "web.shop.localhost")
    assert "tls internal" in default and "import app-web" in default
    assert "tls internal" in _site(caddyfile, "api.shop.localhost")


def test_brought_certificates_are_read_from_files(stack):
    site = _site(render_caddyfile(stack), "admin.example.com")
    assert "tls /etc/caddy/certs/admin.example.com.crt /etc/caddy/certs/admin.example.com.key" in site


def test_worker_apps_never_get_a_route(stack):
    caddyfile = render_caddyfile(stack)
    assert "jobs" not in caddyfile


def test_the_caddyfile_is_deterministic(stack):
    assert render_caddyfile(stack) == render_caddyfile(stack)


def _caddy() -> str:
    caddy = shutil.which("caddy")
    if caddy is None:
        if os.environ.get("CI") == "true":
            pytest.fail("caddy is not installed; .ci/run installs Debian's caddy package")
        pytest.skip("caddy is not installed (apt-get install caddy)")
    return caddy


def test_real_caddy_validates_the_generated_configuration(stack, tmp_path):
    caddy = _caddy()
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=admin.example.com", "-keyout", str(certs / "admin.example.com.key"),
                    "-out", str(certs / "admin.example.com.crt")], check=True, capture_output=True)
    config = tmp_path / "Caddyfile"
    config.write_text(render_caddyfile(stack, cert_dir=str(certs)))
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    result = subprocess.run([caddy, "validate", "--config", str(config), "--adapter", "caddyfile"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_real_caddy_validates_a_stack_without_web_apps(tmp_path):
    caddy = _caddy()
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text("version: 1\nstack: jobs\napps:\n  q: {image: busybox, type: worker}\n")
    config = tmp_path / "Caddyfile"
    config.write_text(render_caddyfile(resolve(*check_spec(spec))))
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"))
    result = subprocess.run([caddy, "validate", "--config", str(config), "--adapter", "caddyfile"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _global_options(caddyfile: str) -> list[str]:
    block = caddyfile[caddyfile.index("{\n") + 2:caddyfile.index("\n}\n")]
    return [line.strip() for line in block.splitlines()]


def _with_tls(tmp_path, tls: str, domains: str = "[shop.example.com]"):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(f"version: 1\nstack: shop\ntls: {tls}\napps:\n  web:\n    image: ghcr.io/acme/web:1.4\n"
                    f"    domains: {domains}\n")
    return resolve(*check_spec(spec))


def test_custom_domains_ask_lets_encrypt_production_by_default_and_no_other_ca(stack):
    assert "acme_ca https://acme-v02.api.letsencrypt.org/directory" in _global_options(render_caddyfile(stack))
    assert not any(line.startswith("acme_ca_root") for line in _global_options(render_caddyfile(stack)))


def test_the_acme_ca_and_the_root_of_its_https_are_global_options(tmp_path):
    stack = _with_tls(tmp_path, "{email: ops@example.com, acme_ca: 'https://ca.corp.example:9000/acme/acme/directory', "
                                "acme_ca_root: {config: corpRoot}}")
    options = _global_options(render_caddyfile(stack))
    assert "acme_ca https://ca.corp.example:9000/acme/acme/directory" in options
    assert "acme_ca_root /etc/caddy/acme-ca-root.pem" in options


def test_no_acme_options_when_every_domain_brings_its_certificate(tmp_path):
    stack = _with_tls(tmp_path, "{acme_ca: 'https://ca.corp.example/dir', acme_ca_root: {config: corpRoot}}",
                      "[{host: shop.example.com, certificate: {config: c}, key: {config: k}}]")
    assert not any(line.startswith("acme_ca") for line in _global_options(render_caddyfile(stack)))


def test_certificate_sources_name_the_acme_ca_the_internal_ca_and_brought_ones(stack):
    assert certificate_sources(stack) == {
        "shop.example.com": "ACME https://acme-v02.api.letsencrypt.org/directory",
        "admin.example.com": "brought (config adminCertPem)",
        "web.shop.localhost": "internal CA (the edge's)",
        "api.shop.localhost": "internal CA (the edge's)",
    }


def test_real_caddy_sends_acme_orders_to_the_named_ca_trusting_the_given_root(tmp_path):
    caddy = _caddy()
    stack = _with_tls(tmp_path, "{email: ops@example.com, acme_ca: 'https://pebble:14000/dir', "
                                "acme_ca_root: {config: pebbleRoot}}")
    root = tmp_path / "root.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test root",
                    "-keyout", str(tmp_path / "root.key"), "-out", str(root)], check=True, capture_output=True)
    config = tmp_path / "Caddyfile"
    config.write_text(render_caddyfile(stack).replace("/etc/caddy/acme-ca-root.pem", str(root)))
    env = dict(os.environ, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    result = subprocess.run([caddy, "validate", "--config", str(config), "--adapter", "caddyfile"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    adapted = subprocess.run([caddy, "adapt", "--config", str(config), "--adapter", "caddyfile"],
                             capture_output=True, text=True, env=env, timeout=120, check=True)
    policies = json.loads(adapted.stdout)["apps"]["tls"]["automation"]["policies"]
    acme = next(p for p in policies if "shop.example.com" in p.get("subjects", []))
    # One issuer: the named CA, over HTTPS trusting the root; no fallback to another CA.
    assert acme["issuers"] == [{"module": "acme", "ca": "https://pebble:14000/dir", "email": "ops@example.com",
                                "trusted_roots_pem_files": [str(root)]}]


def test_the_edge_does_not_install_its_internal_root_into_its_own_trust_store(stack):
    # update-ca-certificates at start delayed the first HTTPS answer by seconds on every new edge.
    assert "skip_install_trust" in _global_options(render_caddyfile(stack))
