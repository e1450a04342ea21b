"""Deploy a flashdrive stack on the real engine: the real program, realized by the engine double."""

from __future__ import annotations

import http.client
import itertools
import json
import re
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy import Deployed, deploy_stack, destroy_stack, loopback_address, stand_in_overlay
from provider import docker

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/django-shop/flashdrive.yaml"


def self_signed(host: str, folder: Path) -> tuple[str, str]:
    key, cert = folder / f"{host}.key", folder / f"{host}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={host}",
                    "-addext", f"subjectAltName=DNS:{host}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert.read_text(), key.read_text()


@dataclass
class Deployment:
    """A stack under test: `deploy()` is `pulumi up` (first or next), through tests/e2e/deploy.py."""

    stack: str
    spec: Path
    overlay: Path | list[Path] | None
    config: dict[str, str]
    images: dict[str, str] | None = None
    last: Deployed | None = None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    preview: int | None = None  # the stack's preview for that pull request (<stack>-pr-N) instead

    @property
    def name(self) -> str:
        """The deployed stack's name: its containers', volumes' and networks' prefix and label."""
        return self.stack if self.preview is None else f"{self.stack}-pr-{self.preview}"

    @property
    def overlays(self) -> list[Path]:
        if self.overlay is None:
            return []
        return list(self.overlay) if isinstance(self.overlay, list) else [self.overlay]

    @property
    def address(self) -> str:
        return loopback_address(self.name)

    @property
    def plan(self):
        return self.last.plan if self.last else None

    def deploy(self) -> "Deployment":
        self.last = deploy_stack(self.spec, overlays=self.overlays, config=self.config, images=self.images,
                                 stack=self.stack, preview=self.preview)
        self.seconds = self.last.seconds
        return self

    def teardown(self) -> None:
        destroy_stack(stack=self.stack, preview=self.preview)

    def container(self, name: str) -> str:
        """The container of `name` (`web-1`, `main`, `edge`): app copies carry a version suffix
        (`shop-web-1-3fa9c2d1`), and while a deploy rolls two versions may exist: the newest."""
        wanted = f"{self.name}-{name}"
        listed = docker("ps", "--all", "--filter", f"label=flashdrive.stack={self.name}",
                        "--format", "{{.CreatedAt}}\t{{.Names}}").stdout.splitlines()
        found = sorted(line.split("\t") for line in listed if "\t" in line)
        matches = [n for _, n in found if n == wanted or re.fullmatch(re.escape(wanted) + r"-[0-9a-f]{8}", n)]
        return matches[-1] if matches else wanted

    def inspect(self, name: str) -> dict:
        return json.loads(docker("inspect", self.container(name)).stdout)[0]

    def stack_containers(self) -> list[dict]:
        ids = docker("ps", "--all", "--quiet", "--filter", f"label=flashdrive.stack={self.name}").stdout.split()
        return json.loads(docker("inspect", *ids).stdout) if ids else []

    def exec(self, name: str, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return docker("exec", self.container(name), *command, check=check)


def write_overlay(folder: Path, stack: str, images: dict[str, str], extra: str = "") -> Path:
    """The e2e variant of a spec: local stand-in images and the host's CA, through real spec keys."""
    return stand_in_overlay(folder, images, stack, extra)


# --- HTTPS through the edge ------------------------------------------------------------------

def https(host: str, path: str, *, ca_pem: str, method: str = "GET", body: bytes | None = None,
          timeout: float = 10, address: str = "127.0.0.1") -> tuple[int, dict, bytes]:
    """A request to the stack's loopback `address`:443 for `host` (SNI and Host), verified against `ca_pem`."""
    context = ssl.create_default_context(cadata=ca_pem)
    connection = http.client.HTTPSConnection(address, 443, context=context, timeout=timeout)
    # Resolve the name to the stack's address while keeping SNI and certificate checks on `host`.
    connection.sock = context.wrap_socket(socket.create_connection((address, 443), timeout=timeout),
                                          server_hostname=host)
    headers = {"Host": host}
    if body is not None:
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), data


def http_plain(host: str, path: str = "/", *, address: str = "127.0.0.1") -> tuple[int, dict]:
    connection = http.client.HTTPConnection(address, 80, timeout=10)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    response.read()
    return response.status, dict(response.getheaders())


def retry(action, *, seconds: float = 90, interval: float = 1.0):
    """Call `action` until it returns without raising (the edge may still be getting ready)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return action()
        except Exception:  # noqa: BLE001 - retried until the deadline, then raised
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)


def edge_root_ca(deployment: Deployment) -> str:
    """The edge's internal CA (for default domains), as Caddy wrote it to its data volume."""
    def read() -> str:
        pem = deployment.exec("edge", "cat", "/data/caddy/pki/authorities/local/root.crt").stdout
        assert "BEGIN CERTIFICATE" in pem
        return pem
    return retry(read, seconds=60)


def temp_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="flashdrive-e2e-"))


class BoundedLoad:
    """HTTPS requests one after another to a stack's loopback address while a deploy runs: bounded
    in count and time, stopped by the caller, every status (or error) kept. Only 127.0.0.0/8."""

    def __init__(self, host: str, ca_pem: str, address: str, *, path: str = "/", max_requests: int = 5000,
                 max_seconds: float = 300):
        assert address.startswith("127."), "load goes to loopback addresses only"
        self.host, self.ca_pem, self.address, self.path = host, ca_pem, address, path
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.results: list[int | str] = []
        self.answered_at: list[float] = []  # time.monotonic() when each result came back
        self.answered_wall: list[float] = []  # time.time() of the same, to compare with engine logs
        self.started_at = self.stopped_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and len(self.results) < self.max_requests and time.monotonic() < deadline:
            try:
                status, _, _ = https(self.host, self.path, ca_pem=self.ca_pem, address=self.address, timeout=30)
                self.results.append(status)
            except Exception as exc:  # noqa: BLE001 - a failed request is a result, kept as text
                self.results.append(f"{type(exc).__name__}: {exc}")
            self.answered_at.append(time.monotonic())
            self.answered_wall.append(time.time())

    def __enter__(self) -> "BoundedLoad":
        self.started_at = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self.stopped_at = time.monotonic()

    @property
    def failures(self) -> list[int | str]:
        return [r for r in self.results if r != 200]

    def failures_near(self, moments: list[float], seconds: float = 2.0) -> tuple[list[str], list[int | str]]:
        """The failures within `seconds` of one of `moments` (time.time()), and all the others."""
        near, others = [], []
        for result, when in zip(self.results, self.answered_wall, strict=True):
            if result == 200:
                continue
            if isinstance(result, str) and any(abs(when - moment) <= seconds for moment in moments):
                near.append(result)
            else:
                others.append(result)
        return near, others

    def longest_gap(self) -> float:
        """The longest time, in seconds, between two 200 answers (the load's start and end count as
        such): how long the app looked down to a client, failures and held requests alike."""
        times = [self.started_at] + [t for r, t in zip(self.results, self.answered_at, strict=True) if r == 200]
        times.append(self.stopped_at or time.monotonic())
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


def edge_reloads(stack: str, since: float) -> list[float]:
    """When (time.time()) the stack's edge reloaded its Caddyfile since `since`, by Caddy's log."""
    logged = docker("logs", "--since", f"{since:.3f}", f"{stack}-edge").stderr
    moments = []
    for line in logged.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("msg") == "config file changed; reloading":
            moments.append(float(entry["ts"]))
    return moments


def container_events(stack: str, since: float, until: float) -> list[dict]:
    """The `start` and `die` events of the stack's containers between two times (`time.time()`),
    replayed by the engine, oldest first: each {"id", "name", "action", "time" (seconds)}."""
    listed = docker("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
                    "--filter", "type=container", "--filter", f"label=flashdrive.stack={stack}",
                    "--filter", "event=start", "--filter", "event=die", "--format", "{{json .}}").stdout
    events = [json.loads(line) for line in listed.splitlines() if line.strip()]
    return [{"id": e["Actor"]["ID"], "name": e["Actor"]["Attributes"].get("name", ""), "action": e["Action"],
             "time": e["timeNano"] / 1e9} for e in sorted(events, key=lambda e: e["timeNano"])]


def running_together(events: list[dict], name: str) -> list[tuple[str, str]]:
    """Pairs of containers called `name` that ran at the same moment, by `container_events`. A
    container whose start came before the events began counts as running from the beginning."""
    spans: dict[str, list[float]] = {}
    for event in events:
        if event["name"] != name:
            continue
        span = spans.setdefault(event["id"], [float("-inf"), float("inf")])
        span[0 if event["action"] == "start" else 1] = event["time"]
    ids = sorted(spans)
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]
            if spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]]
