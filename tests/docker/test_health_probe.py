"""The health probe asks what real traffic asks, and a failure says what was asked and what came back.

The probes run for real here, against a local HTTP server that behaves like a Django app with
ALLOWED_HOSTS = [its public name] and SECURE_SSL_REDIRECT.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from flashdrive.docker.caddyfile import render_caddyfile
from flashdrive.health_probe import probe_headers, python_probe, shell_probe
from flashdrive.model.resolve import resolve
from flashdrive.pipeline import check_spec

PUBLIC = "shop.example.com"


class _DjangoLike(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        if self.path == "/boom":
            return self._answer(500, b"\n  Internal Server Error: /boom\nTraceback (most recent call last):\n")
        if self.headers.get("Host") != PUBLIC:
            return self._answer(400, b"<h1>Bad Request (400)</h1>\n<p>DisallowedHost</p>")
        if self.headers.get("X-Forwarded-Proto") != "https":
            self.send_response(301)
            self.send_header("Location", f"https://{PUBLIC}{self.path}")
            self.end_headers()
            return None
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", f"https://{PUBLIC}/elsewhere")
            self.end_headers()
            return None
        return self._answer(200, b"ok")

    def _answer(self, status: int, body: bytes):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DjangoLike)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def _app(port: int, path: str = "/", host: str = PUBLIC):
    return SimpleNamespace(port=port, probe_host=host,
                           health=SimpleNamespace(path=path, timeout_s=2, interval_s=5, retries=3, start_period_s=0))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_python(app) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", python_probe(app)], capture_output=True, text=True, timeout=30)


def test_the_python_probe_passes_an_app_that_allows_only_its_public_host_and_redirects_plain_http(server):
    result = _run_python(_app(server))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_redirect_is_healthy_and_not_followed(server):
    assert _run_python(_app(server, "/moved")).returncode == 0


def test_a_refused_host_says_url_host_status_and_the_body_s_first_line(server):
    result = _run_python(_app(server, host="web"))
    assert result.returncode == 1 and result.stderr == ""
    assert result.stdout == f"GET http://127.0.0.1:{server}/ Host: web: HTTP 400: <h1>Bad Request (400)</h1>\n"


def test_a_server_error_shows_its_first_non_empty_line_never_a_traceback_of_the_probe(server):
    result = _run_python(_app(server, "/boom"))
    assert result.stdout == f"GET http://127.0.0.1:{server}/boom Host: {PUBLIC}: HTTP 500: Internal Server Error: /boom\n"


def test_a_connection_error_is_one_line_without_a_traceback():
    port = _free_port()
    result = _run_python(_app(port))
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith(f"GET http://127.0.0.1:{port}/ Host: {PUBLIC}: ")
    assert "refused" in result.stdout.lower() and result.stdout.count("\n") == 1


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_shell_probe_of_prebuilt_images_behaves_the_same(server):
    ok = subprocess.run(["sh", "-c", shell_probe(_app(server))], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0
    refused = subprocess.run(["sh", "-c", shell_probe(_app(server, host="web"))], capture_output=True, text=True)
    assert refused.returncode == 1
    assert refused.stdout == f"GET http://127.0.0.1:{server}/ Host: web: HTTP 400: <h1>Bad Request (400)</h1>\n"
    down = subprocess.run(["sh", "-c", shell_probe(_app(_free_port()))], capture_output=True, text=True)
    assert down.returncode == 1 and "curl: (7)" in down.stdout


SPEC = """\
version: 1
stack: shop
tls: {email: ops@example.com, default_domain: localhost}
apps:
  web: {image: "ghcr.io/acme/web:1", domains: [shop.example.com, www.example.com]}
  api: {image: "ghcr.io/acme/api:1"}
  internal: {image: "ghcr.io/acme/x:1"}
"""


def test_the_probe_host_is_the_first_domain_else_the_default_domain(tmp_path):
    path = tmp_path / "flashdrive.yaml"
    path.write_text(SPEC)
    stack = resolve(*check_spec(path))
    assert stack.apps["web"].probe_host == "shop.example.com"
    assert stack.apps["api"].probe_host == "api.shop.localhost"
    assert probe_headers(stack.apps["web"]) == {"Host": "shop.example.com", "X-Forwarded-Proto": "https"}
    caddyfile = render_caddyfile(stack)
    assert "\t\thealth_headers {\n\t\t\tHost shop.example.com\n\t\t\tX-Forwarded-Proto https\n\t\t}" in caddyfile


def test_the_python_probe_survives_a_shell_the_way_dockers_cli_passes_it(server):
    import json

    script = python_probe(_app(server, host="web"))
    assert "\n" not in script and "$" not in script and "`" not in script
    # what `docker run --health-cmd` does with an exec-form command: one shell string
    result = subprocess.run(["sh", "-c", f"{sys.executable} -c {json.dumps(script)}"], capture_output=True, text=True)
    assert result.stdout == f"GET http://127.0.0.1:{server}/ Host: web: HTTP 400: <h1>Bad Request (400)</h1>\n"
