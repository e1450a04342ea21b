"""The physical floor of a deploy: the example stack's containers started by plain Docker Engine
API calls (HTTP over /var/run/docker.sock, standard library only), written out by hand.

What to create comes from the program itself (`container_specs`: the inputs of every network,
volume and container it registers, secrets unmasked, run under plan mocks, nothing created), so
the containers are the same; how and when to create them is the hand-written part: everything
that can go in parallel does, the database is ready when its own health-check command succeeds
(polled with `exec` every 0.2 s rather than waiting for Docker's health-check interval), the
release runs to completion (its script: the docker CLI), then the copies, then the edge, its
Caddyfile copied onto its volume through the API before it starts.

`roll` is a code deploy by hand, the same steps as flashdrive's rolling one: the new image's
release, the new copies started beside the old ones until their health check passes (polled),
then the old ones stopped with their grace period and removed. The edge routes by the copies'
aliases, which old and new share.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import posixpath
import socket
import subprocess
import tarfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flashdrive.labels import EDGE_CADDYFILE
from flashdrive.plan import PlanMocks, capture

API = "/v1.41"  # Docker 20.10; newer engines accept it too
SECRET_SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return _unwrap(value.get("value"))
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


# --- what the program registers, unmasked ------------------------------------------------------

@dataclass
class StackSpecs:
    networks: list[dict] = field(default_factory=list)
    volumes: list[dict] = field(default_factory=list)
    containers: list[dict] = field(default_factory=list)
    commands: dict[str, dict] = field(default_factory=dict)  # name -> inputs (releases, the edge's routes)
    images: dict[str, str] = field(default_factory=dict)  # the plan's stand-in image ids -> real tags

    def releases(self) -> list[dict]:
        return [c for name, c in sorted(self.commands.items()) if name.endswith("-release")]

    def caddyfile(self) -> str | None:
        routes = next((c for name, c in self.commands.items() if name.endswith("-edge-routes")), None)
        return routes["environment"]["FLASHDRIVE_CADDYFILE"] if routes else None


class _SpecMocks(PlanMocks):
    def __init__(self, specs: StackSpecs):
        super().__init__()
        self.specs = specs

    def new_resource(self, args):
        from tls_double import TYPES as TLS_TYPES  # tests/e2e: keys and certificates made for real
        from tls_double import create_tls

        inputs = _unwrap(dict(args.inputs))
        if args.typ in TLS_TYPES:  # a database's TLS files are uploaded into its container
            return create_tls(args.typ, inputs)
        resource_id, state = super().new_resource(args)
        if args.typ == "docker:index/network:Network":
            self.specs.networks.append(inputs)
        elif args.typ == "docker:index/volume:Volume":
            self.specs.volumes.append(inputs)
        elif args.typ == "docker:index/container:Container":
            self.specs.containers.append(inputs)
        elif args.typ == "command:local:Command":
            self.specs.commands[args.name] = inputs
        elif args.typ == "docker:index/remoteImage:RemoteImage":
            self.specs.images[state["imageId"]] = inputs["name"]
        elif args.typ == "docker:index/image:Image":
            self.specs.images[state["repoDigest"]] = inputs["imageName"]
        return resource_id, state


def container_specs(program, config: dict[str, str]) -> StackSpecs:
    specs = StackSpecs()
    capture(program, config=config, secret_config_keys=list(config), mocks=_SpecMocks(specs))
    for container in specs.containers:
        container["image"] = specs.images.get(container["image"], container["image"])
    for command in specs.commands.values():
        command["environment"] = {k: specs.images.get(v, v) if isinstance(v, str) else v
                                  for k, v in (command.get("environment") or {}).items()}
    return specs


# --- the Docker Engine API -----------------------------------------------------------------------

class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 600):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


class DockerAPI:
    def __init__(self, socket_path: str = "/var/run/docker.sock"):
        self.socket_path = socket_path

    def call(self, method: str, path: str, body: Any = None, *, query: dict | None = None,
             raw: bytes | None = None, expect: tuple[int, ...] = (200, 201, 204)) -> Any:
        connection = _UnixConnection(self.socket_path)
        url = API + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {}
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif raw is not None:
            headers["Content-Type"] = "application/x-tar"
        connection.request(method, url, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        if response.status not in expect:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:500]!r}")
        if response.getheader("Content-Type", "").startswith("application/json") and data:
            return json.loads(data)
        return data

    def exec(self, container: str, command: list[str]) -> int:
        created = self.call("POST", f"/containers/{container}/exec",
                            {"Cmd": command, "AttachStdout": True, "AttachStderr": True})
        self.call("POST", f"/exec/{created['Id']}/start", {"Detach": False, "Tty": False})
        return self.call("GET", f"/exec/{created['Id']}/json")["ExitCode"]

    def read_file(self, container: str, path: str) -> str | None:
        try:
            data = self.call("GET", f"/containers/{container}/archive", query={"path": path})
        except RuntimeError:
            return None
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            extracted = tar.extractfile(member) if member else None
            return extracted.read().decode() if extracted else None


def _seconds_ns(text: str) -> int:
    return int(float(str(text).rstrip("s")) * 1_000_000_000)


def _create_body(c: dict, publish_address: str = "") -> tuple[dict, list[dict]]:
    """The container's inputs (pulumi-docker names) as a Docker API create body, plus the
    networks to connect after creation. Ports are published on `publish_address` (all when empty)."""
    host: dict[str, Any] = {
        "Binds": [f"{v['volumeName']}:{v['containerPath']}" + (":ro" if v.get("readOnly") else "")
                  for v in c.get("volumes", [])],
        "CapDrop": c.get("capabilities", {}).get("drops", []),
        "CapAdd": c.get("capabilities", {}).get("adds", []),
        "SecurityOpt": c.get("securityOpts", []),
        "Privileged": bool(c.get("privileged")),
        "Init": bool(c.get("init")),
        "RestartPolicy": {"Name": c.get("restart", "no")},
        "LogConfig": {"Type": c.get("logDriver", "json-file"), "Config": c.get("logOpts", {})},
        "Ulimits": [{"Name": u["name"], "Soft": int(u["soft"]), "Hard": int(u["hard"])} for u in c.get("ulimits", [])],
    }
    if c.get("memory"):
        host["Memory"] = int(c["memory"]) * 1024 * 1024
    if c.get("memorySwap"):
        host["MemorySwap"] = int(c["memorySwap"]) * 1024 * 1024
    if c.get("cpus"):
        host["NanoCpus"] = int(float(c["cpus"]) * 1_000_000_000)
    ports = c.get("ports", [])
    host["PortBindings"] = {f"{int(p['internal'])}/{p.get('protocol', 'tcp')}":
                            [{"HostIp": publish_address, "HostPort": str(int(p["external"]))}] for p in ports}
    if c.get("networkMode"):
        host["NetworkMode"] = c["networkMode"]
    networks = c.get("networksAdvanced", [])
    body: dict[str, Any] = {
        "Image": c["image"],
        "Env": c.get("envs", []),
        "Labels": {label["label"]: label["value"] for label in c.get("labels", [])},
        "ExposedPorts": {key: {} for key in host["PortBindings"]},
        "HostConfig": host,
    }
    if c.get("hostname"):
        body["Hostname"] = c["hostname"]
    entrypoint = c.get("entrypoints")
    if entrypoint:
        body["Entrypoint"] = entrypoint
    if c.get("command"):
        body["Cmd"] = c["command"]
    health = c.get("healthcheck")
    if health:
        body["Healthcheck"] = {"Test": health["tests"], "Interval": _seconds_ns(health.get("interval", "0s")),
                               "Timeout": _seconds_ns(health.get("timeout", "0s")),
                               "StartPeriod": _seconds_ns(health.get("startPeriod", "0s")),
                               "Retries": int(health.get("retries", 0))}
    if networks:
        first = networks[0]
        host["NetworkMode"] = first["name"]
        body["NetworkingConfig"] = {"EndpointsConfig": {first["name"]: {"Aliases": first.get("aliases", [])}}}
    return body, networks[1:]


def _tar(files: list[dict]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for upload in files:
            data = upload["content"].encode()
            info = tarfile.TarInfo(upload["file"].lstrip("/"))
            info.size = len(data)
            info.mode = 0o755 if upload.get("executable") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --- the hand-written deploy ------------------------------------------------------------------

def _role(c: dict) -> str:
    return next((lb["value"] for lb in c.get("labels", []) if lb["label"] == "flashdrive.role"), "")


def _ready(api: DockerAPI, c: dict, seconds: float = 180) -> None:
    """Until the container's own health-check command succeeds in it (polled every 0.2 s)."""
    test = c["healthcheck"]["tests"]
    command = ["/bin/sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
    deadline = time.monotonic() + seconds
    while api.exec(c["name"], command) != 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{c['name']} did not get ready")
        time.sleep(0.2)


def _create(api: DockerAPI, c: dict, publish_address: str) -> str:
    body, more = _create_body(c, publish_address)
    api.call("POST", "/containers/create", body, query={"name": c["name"]})
    for extra in more:
        api.call("POST", f"/networks/{extra['name']}/connect",
                 {"Container": c["name"], "EndpointConfig": {"Aliases": extra.get("aliases", [])}})
    if c.get("uploads"):
        api.call("PUT", f"/containers/{c['name']}/archive", query={"path": "/"}, raw=_tar(c["uploads"]))
    return c["name"]


def _release(command: dict) -> None:
    """The release's own script: the docker CLI runs a one-off container of the new image."""
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), **command["environment"]}
    result = subprocess.run(["/bin/sh", "-c", command["create"]], env=env, capture_output=True, text=True,
                            timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"release failed:\n{(result.stdout + result.stderr)[-3000:]}")


def deploy(specs: StackSpecs, api: DockerAPI, *, publish_address: str = "",
           log=lambda message: None) -> dict[str, float]:
    """Create and start the stack; returns when the edge is started (seconds per step)."""
    started = time.perf_counter()
    marks: dict[str, float] = {}
    pool = ThreadPoolExecutor(max_workers=16)

    def mark(name: str) -> None:
        marks[name] = round(time.perf_counter() - started, 3)

    def network(n: dict) -> None:
        api.call("POST", "/networks/create", {"Name": n["name"], "Driver": n.get("driver", "bridge"),
                                              "Internal": bool(n.get("internal")), "CheckDuplicate": True,
                                              "Labels": {lb["label"]: lb["value"] for lb in n.get("labels", [])}})

    def volume(v: dict) -> None:
        api.call("POST", "/volumes/create", {"Name": v["name"], "Driver": v.get("driver", "local"),
                                             "Labels": {lb["label"]: lb["value"] for lb in v.get("labels", [])}})

    list(pool.map(network, specs.networks))
    list(pool.map(volume, specs.volumes))
    mark("networks_volumes")

    # One-off containers (backup runs) are started by their schedule, never by a deploy.
    containers = [c for c in specs.containers if not c.get("attach")]
    list(pool.map(lambda c: _create(api, c, publish_address), containers))
    caddyfile = specs.caddyfile()
    edge = [c for c in containers if _role(c) == "edge"]
    if caddyfile is not None and edge:  # onto the edge's volume, before Caddy reads it
        folder, name = posixpath.split(EDGE_CADDYFILE)
        api.call("PUT", f"/containers/{edge[0]['name']}/archive", query={"path": folder},
                 raw=_tar([{"file": name, "content": caddyfile}]))
    mark("created")

    def start(name: str) -> None:
        api.call("POST", f"/containers/{name}/start")

    databases = [c for c in containers if _role(c) not in ("web", "worker") and c.get("wait")]
    copies = [c for c in containers if _role(c) in ("web", "worker")]
    rest = [c for c in containers if c not in databases + copies + edge]

    list(pool.map(start, [c["name"] for c in databases]))
    mark("databases_started")
    later = [pool.submit(start, c["name"]) for c in rest if _role(c) == "backup-server"]

    list(pool.map(lambda c: _ready(api, c), databases))
    mark("databases_ready")
    later += [pool.submit(start, c["name"]) for c in rest if _role(c) != "backup-server"]
    list(pool.map(_release, specs.releases()))
    mark("released")
    list(pool.map(start, [c["name"] for c in copies]))
    mark("copies_started")
    list(pool.map(start, [c["name"] for c in edge]))
    mark("edge_started")
    for future in later:
        future.result()
    pool.shutdown()
    log(f"raw deploy: {marks}")
    return marks


def roll(old: StackSpecs, new: StackSpecs, api: DockerAPI, *, log=lambda message: None) -> dict[str, float]:
    """A code deploy by hand, once the new image is built: its release, the new copies beside the
    old ones until healthy, then the old ones stopped gracefully and removed (seconds per step)."""
    started = time.perf_counter()
    marks: dict[str, float] = {}

    def mark(name: str) -> None:
        marks[name] = round(time.perf_counter() - started, 3)

    names = {c["name"] for c in old.containers}
    fresh = [c for c in new.containers if _role(c) in ("web", "worker") and c["name"] not in names]
    kept = {c["name"] for c in new.containers}
    gone = [c for c in old.containers if _role(c) in ("web", "worker") and c["name"] not in kept]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(_release, new.releases()))
        mark("released")
        list(pool.map(lambda c: _create(api, c, ""), fresh))
        list(pool.map(lambda c: api.call("POST", f"/containers/{c['name']}/start"), fresh))
        list(pool.map(lambda c: _ready(api, c), [c for c in fresh if c.get("healthcheck")]))
        mark("copies_ready")

        def retire(c: dict) -> None:
            grace = int(c.get("destroyGraceSeconds") or 0)
            api.call("POST", f"/containers/{c['name']}/stop", query={"t": grace}, expect=(204, 304))
            api.call("DELETE", f"/containers/{c['name']}", query={"force": "true"})

        list(pool.map(retire, gone))
        mark("old_removed")
    log(f"raw roll: {marks}")
    return marks
