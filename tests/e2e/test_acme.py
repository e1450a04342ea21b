"""Custom domains get their certificates from a real ACME server: pebble, Let's Encrypt's test CA.

Pebble (Debian's package) runs beside the stack on its public network, `<stack>-public`, with
`tls.acme_ca` pointing at it and `tls.acme_ca_root` the root of pebble's own HTTPS (made here:
Debian ships no certificate for it). Its validation authority resolves the custom domains
through pebble-challtestsrv's DNS, which answers with the edge's address on that network, and
fetches the HTTP-01 challenge from the edge itself, on its port 80 (PEBBLE_VA_NOSLEEP=1 in the
image: no random wait before validating). The issued certificates chain to another
root, pebble's issuing root (new at each pebble start, read from its management API), which the
client trusts, as a browser trusts Let's Encrypt's.

One stack, updated in order (each test starts where the last left it): first without a custom
domain (the public network pebble joins comes with it), then a domain connected without
`tls.acme_ca_root` (refused), then with it, then a second domain.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from deploy import destroy_stack
from harness import Deployment, https, retry
from provider import docker

pytestmark = pytest.mark.e2e

STACK = "acme-e2e"
FIRST = "shop.acme-e2e.test"
SECOND = "admin.acme-e2e.test"
PEBBLE_IMAGE = "flashdrive-e2e/pebble:2.4"
PEBBLE = f"{STACK}-pebble"
CHALLTESTSRV = f"{STACK}-challtestsrv"
ACME_CA = f"https://{PEBBLE}:14000/dir"
LABELS = ["--label", f"flashdrive.stack={STACK}", "--label", "flashdrive.e2e=pebble"]

SPEC = """\
version: 1
stack: {stack}
tls:
  email: ops@acme-e2e.test
  acme_ca: {acme_ca}
{root}apps:
  web:
    source: ./app
    port: 8000
    domains: {domains}
backups: {{enabled: false}}
"""

PEBBLE_CONFIG = {"pebble": {
    "listenAddress": "0.0.0.0:14000",
    "managementListenAddress": "0.0.0.0:15000",
    "certificate": "/etc/pebble/https.crt",
    "privateKey": "/etc/pebble/https.key",
    "httpPort": 80,    # HTTP-01 is fetched from the edge's port 80
    # TLS-ALPN-01 goes to a port nothing listens on: when Caddy tries it first (it picks either at
    # random), it fails in a second and Caddy goes on with HTTP-01, so HTTP-01 is always proven.
    "tlsPort": 5001,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": False,
}}


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def https_root_and_certificate(folder: Path) -> Path:
    """A root for pebble's own HTTPS and its certificate for the names the edge and curl use."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=acme-e2e pebble HTTPS root",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", str(folder / "root.key"), "-out", str(folder / "https-root.pem"))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={PEBBLE}",
            "-keyout", str(folder / "https.key"), "-out", str(folder / "https.csr"))
    (folder / "san.ext").write_text(f"subjectAltName=DNS:{PEBBLE},DNS:localhost,IP:127.0.0.1\n"
                                    "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", str(folder / "https.csr"), "-CA", str(folder / "https-root.pem"),
            "-CAkey", str(folder / "root.key"), "-CAcreateserial", "-days", "2", "-extfile", str(folder / "san.ext"),
            "-out", str(folder / "https.crt"))
    return folder / "https-root.pem"


class Pebble:
    """pebble and pebble-challtestsrv, two containers on the stack's public network."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.https_root = https_root_and_certificate(folder)
        (folder / "pebble-config.json").write_text(json.dumps(PEBBLE_CONFIG))

    def start(self) -> None:
        network = f"{STACK}-public"
        # No default answers: a name resolves only once it is pointed at the edge (no AAAA at all).
        docker("run", "--detach", "--name", CHALLTESTSRV, *LABELS, "--network", network, PEBBLE_IMAGE,
               "pebble-challtestsrv", "-defaultIPv4", "", "-defaultIPv6", "", "-http01", "", "-https01", "",
               "-tlsalpn01", "", "-dns01", ":8053", "-management", ":8055")
        dns = f"{self.address(CHALLTESTSRV)}:8053"
        docker("create", "--name", PEBBLE, *LABELS, "--network", network, PEBBLE_IMAGE,
               "pebble", "-config", "/etc/pebble/pebble-config.json", "-dnsserver", dns)
        for name in ("pebble-config.json", "https.crt", "https.key", "https-root.pem"):
            docker("cp", str(self.folder / name), f"{PEBBLE}:/etc/pebble/{name}")
        docker("start", PEBBLE)
        retry(lambda: self.curl(PEBBLE, "https://localhost:14000/dir"), seconds=30, interval=0.5)

    def stop(self) -> None:
        for name in (PEBBLE, CHALLTESTSRV):
            docker("rm", "--force", "--volumes", name, check=False)

    @staticmethod
    def address(container: str) -> str:
        networks = json.loads(docker("inspect", container).stdout)[0]["NetworkSettings"]["Networks"]
        return networks[f"{STACK}-public"]["IPAddress"]

    def curl(self, container: str, url: str, body: dict | None = None) -> str:
        command = ["exec", container, "curl", "--silent", "--show-error", "--fail", "--max-time", "10"]
        if url.startswith("https:"):
            command += ["--cacert", "/etc/pebble/https-root.pem"]
        if body is not None:
            command += ["--data", json.dumps(body)]
        return docker(*command, url).stdout

    def issuing_root(self) -> str:
        """The root pebble signs certificates with (its chain: root → intermediate → leaf)."""
        return self.curl(PEBBLE, "https://localhost:15000/roots/0")

    def point(self, hosts: list[str], address: str) -> None:
        for host in hosts:
            self.curl(CHALLTESTSRV, "http://localhost:8055/add-a", {"host": host, "addresses": [address]})

    def logs(self) -> str:
        result = docker("logs", PEBBLE, check=False)
        return result.stdout + result.stderr


@contextmanager
def dns_follows_the_edge(pebble: Pebble, hosts: list[str]):
    """A new edge asks pebble at once, before anyone could know its address, and a reloaded one asks
    for the new hosts at once: pebble waits, paused, until the DNS answers `hosts` with the edge."""
    events = subprocess.Popen(["docker", "events", "--filter", f"container={STACK}-edge", "--filter", "event=start",
                               "--format", "{{.ID}}"], stdout=subprocess.PIPE, text=True)
    docker("pause", PEBBLE)

    failed: list[BaseException] = []

    def follow() -> None:
        try:
            # A new edge (the first up) starts once; later ups reload the running edge in place, and
            # the line is empty once the deploy is over: then the edge's address has not changed.
            started = events.stdout.readline()
            pebble.point(hosts, Pebble.address(f"{STACK}-edge"))
            if started:
                print(f"[e2e] DNS points at the new edge {time.time() - edge_started():.2f}s after it started")
        except BaseException as error:  # noqa: BLE001 - raised in the test's thread below
            failed.append(error)
        finally:
            docker("unpause", PEBBLE)

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        yield
    finally:
        events.terminate()
        follower.join(timeout=60)
    if failed:
        raise failed[0]


def edge_log(message: str) -> list[dict]:
    """The edge's (Caddy's JSON) log entries whose message starts with `message`."""
    result = docker("logs", f"{STACK}-edge", check=False)
    entries = [json.loads(line) for line in (result.stdout + result.stderr).splitlines() if line.startswith("{")]
    return [entry for entry in entries if str(entry.get("msg", "")).startswith(message)]


def edge_started() -> float:
    started = json.loads(docker("inspect", f"{STACK}-edge").stdout)[0]["State"]["StartedAt"]  # RFC 3339, in ns
    return datetime.fromisoformat(started[:26]).replace(tzinfo=UTC).timestamp()


def peer_certificate(host: str, address: str, ca_pem: str) -> dict:
    """The certificate the edge serves for `host` (SNI), verified against `ca_pem`."""
    context = ssl.create_default_context(cadata=ca_pem)
    with socket.create_connection((address, 443), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        return tls.getpeercert()


def issuer_name(certificate: dict) -> str:
    return ", ".join(f"{key}={value}" for rdn in certificate["issuer"] for key, value in rdn)


@pytest.fixture(scope="module")
def acme_stack(stand_in_images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("acme")
    app = folder / "app"
    app.mkdir()
    (app / "Procfile").write_text("web: python -m http.server $PORT\n")
    (app / "requirements.txt").write_text("")
    (app / ".python-version").write_text("3.11\n")
    (app / "index.html").write_text("<h1>acme-e2e</h1>\n")
    spec = folder / "flashdrive.yaml"
    pebble = Pebble(folder)
    deployment = Deployment(STACK, spec, None, {"flashdrive:pebbleHttpsRoot": pebble.https_root.read_text()},
                            images=stand_in_images)

    def up(domains: list[str], root: bool = True) -> dict[str, int]:
        spec.write_text(SPEC.format(stack=STACK, acme_ca=ACME_CA, domains=json.dumps(domains),
                                    root="  acme_ca_root: {config: pebbleHttpsRoot}\n" if root else ""))
        if not domains:
            return deployment.deploy().last.changes
        with dns_follows_the_edge(pebble, domains):
            changes = deployment.deploy().last.changes
        print(f"[e2e] up with {domains}: {deployment.seconds:.1f}s")
        return changes

    pebble.stop()
    destroy_stack(stack=STACK)
    try:
        up([])  # the stack first: pebble joins its public network
        pebble.start()
        deployment.extra.update(pebble=pebble, up=up)
        yield deployment
    finally:
        issued = [line for line in pebble.logs().splitlines() if "Issued certificate" in line]
        print("[e2e] pebble: " + ("\n".join(issued) or "issued no certificate"))
        pebble.stop()
        destroy_stack(stack=STACK)
        shutil.rmtree(folder, ignore_errors=True)


def test_without_the_root_of_its_https_the_edge_cannot_talk_to_the_acme_ca(acme_stack):
    acme_stack.extra["up"]([FIRST], root=False)

    def refused() -> list[dict]:
        found = [e for e in edge_log("") if "x509: certificate signed by unknown authority" in str(e.get("error"))]
        assert found
        return found
    assert "acme-e2e-pebble:14000" in str(retry(refused, seconds=60)[0]["error"])
    assert edge_log("trying to solve challenge") == []


def test_a_custom_domain_gets_its_certificate_from_the_acme_ca_the_spec_names(acme_stack):
    pebble: Pebble = acme_stack.extra["pebble"]
    started = time.perf_counter()
    acme_stack.extra["up"]([FIRST])
    root = pebble.issuing_root()
    assert "BEGIN CERTIFICATE" in root

    def answered():
        status, _, body = https(FIRST, "/", ca_pem=root, address=acme_stack.address)
        assert status == 200 and b"acme-e2e" in body, (status, body[:200])
    retry(answered, seconds=120)
    print(f"[e2e] {FIRST}: HTTPS with pebble's certificate {time.perf_counter() - started:.1f}s after the up began")
    solved = edge_log("trying to solve challenge")
    assert {(e["identifier"], e["ca"]) for e in solved} == {(FIRST, ACME_CA)}
    assert solved[-1]["challenge_type"] == "http-01"
    # Pebble's validation authority fetched the key authorization from the edge itself, on port 80.
    served = edge_log("served key authentication")
    assert served and {e["challenge"] for e in served} == {"http-01"}, served
    assert {e["remote"].rpartition(":")[0] for e in served} == {Pebble.address(PEBBLE)}, served
    obtained = [e for e in edge_log("certificate obtained successfully") if e["identifier"] == FIRST][0]["ts"]
    obtained -= edge_started()
    print(f"[e2e] {FIRST}: certificate obtained {obtained:.1f}s after the edge started, "
          f"challenges tried: {[e['challenge_type'] for e in solved]}")
    certificate = peer_certificate(FIRST, acme_stack.address, root)
    assert "Pebble Intermediate CA" in issuer_name(certificate), certificate["issuer"]
    assert ("DNS", FIRST) in certificate["subjectAltName"]
    acme_stack.extra["first_serial"] = certificate["serialNumber"]


def test_the_edge_registers_which_ca_each_certificate_comes_from(acme_stack):
    edge = next(r for r in acme_stack.plan.resources if r.type == "flashdrive:docker:Edge")
    assert edge.outputs["certificates"] == {FIRST: f"ACME {ACME_CA}", f"web.{STACK}.localhost": "internal CA (the edge's)"}


def test_a_domain_added_later_gets_its_own_certificate_and_the_first_is_not_reissued(acme_stack):
    pebble: Pebble = acme_stack.extra["pebble"]
    first_serial = acme_stack.extra.get("first_serial")
    assert first_serial, "the first domain's certificate was not issued"
    edge_before = json.loads(docker("inspect", f"{STACK}-edge").stdout)[0]["Id"]
    obtained_before = len(edge_log("obtaining certificate"))
    served_before = len(edge_log("served key authentication"))
    acme_stack.extra["up"]([FIRST, SECOND])
    # One Caddy process for the life of the stack: it reloads its configuration in place (#14).
    assert json.loads(docker("inspect", f"{STACK}-edge").stdout)[0]["Id"] == edge_before
    root = pebble.issuing_root()

    def answered():
        status, _, _ = https(SECOND, "/", ca_pem=root, address=acme_stack.address)
        assert status == 200
    retry(answered, seconds=120)
    second = peer_certificate(SECOND, acme_stack.address, root)
    first = peer_certificate(FIRST, acme_stack.address, root)
    assert "Pebble Intermediate CA" in issuer_name(second)
    assert ("DNS", SECOND) in second["subjectAltName"] and ("DNS", FIRST) not in second["subjectAltName"]
    assert second["serialNumber"] != first_serial
    # The reloaded edge kept the first certificate and asked only for the second.
    assert [e["identifier"] for e in edge_log("obtaining certificate")[obtained_before:]] == [SECOND]
    assert {(e["identifier"], e["challenge"]) for e in edge_log("served key authentication")[served_before:]} \
        == {(SECOND, "http-01")}
    assert first["serialNumber"] == first_serial, "the first domain's certificate was issued again"
    status, _, _ = https(FIRST, "/", ca_pem=root, address=acme_stack.address)
    assert status == 200
