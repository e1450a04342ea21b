"""A fake Docker SDK client: containers as the engine's inspect output, no engine needed."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from flashdrive.labels import LABEL_NETWORK, LABEL_STACK

_ids = itertools.count(1)


def attrs(stack: str, name: str, labels: dict[str, str], *, running: bool = True, health: str | None = None,
          probes: list[dict] | None = None, restarts: int = 0, image: str = "sha256:" + "ab" * 32,
          started: str = "2026-01-01T11:00:00.123456789Z", finished: str = "0001-01-01T00:00:00Z",
          exit_code: int = 0, env: list[str] | None = None, networks: tuple[str, ...] = (),
          binds: list[str] | None = None, memory_mib: int = 512, cpus: float = 0.5,
          healthcheck: dict | None = None) -> dict:
    state = {"Status": "running" if running else "exited", "Running": running, "ExitCode": 0 if running else exit_code,
             "StartedAt": started, "FinishedAt": finished}
    if health:
        state["Health"] = {"Status": health, "FailingStreak": 0, "Log": probes or []}
    return {
        "Id": f"{next(_ids):064x}", "Name": f"/{stack}-{name}", "Image": image, "RestartCount": restarts,
        "State": state,
        "Config": {"Labels": {LABEL_STACK: stack, **labels}, "Env": env or [], "Image": image, "User": "10001:10001",
                   "WorkingDir": "/app", "Healthcheck": healthcheck},
        "HostConfig": {"Memory": memory_mib * 1024 * 1024, "MemorySwap": memory_mib * 1024 * 1024,
                       "NanoCpus": int(cpus * 1e9), "Binds": binds or [], "Init": True, "CapDrop": ["ALL"],
                       "SecurityOpt": ["no-new-privileges:true"],
                       "PidsLimit": 256},
        "NetworkSettings": {"Networks": {n: {"Aliases": []} for n in networks}},
    }


class FakeContainer:
    def __init__(self, attrs: dict, logs: list[bytes] | None = None, states: list[dict] | None = None):
        self.attrs = attrs
        self.id = attrs["Id"]
        self.name = attrs["Name"].lstrip("/")
        self.log_chunks = logs or []
        self.log_calls: list[dict] = []
        self.states = list(states or [])  # what reload() shows next, one per call
        self.restarted: list[int] = []
        self.removed = False
        self.events: list[str] | None = None

    def logs(self, **kwargs):
        self.log_calls.append(kwargs)
        return iter(list(self.log_chunks))

    def reload(self):
        if self.states:
            self.attrs = {**self.attrs, **self.states.pop(0)}

    def restart(self, timeout=None):
        self.restarted.append(timeout)
        if self.events is not None:
            self.events.append(f"restart {self.name}")

    def start(self):
        pass

    def wait(self):
        return {"StatusCode": self.exit_code}

    def remove(self, force=False, v=False):
        self.removed = True


@dataclass
class FakeNetwork:
    name: str
    attrs: dict
    connected: list = field(default_factory=list)

    def connect(self, container):
        self.connected.append(container.name)


class FakeContainers:
    def __init__(self, client: FakeClient):
        self.client = client
        self.created: list[dict] = []

    def list(self, all=False, sparse=False, filters=None, ignore_removed=False):
        wanted = (filters or {}).get("label")
        found = []
        for container in self.client.current():
            labels = container.attrs["Config"]["Labels"]
            if wanted:
                key, eq, value = wanted.partition("=")
                if key not in labels or (eq and labels[key] != value):
                    continue
            if sparse:
                found.append(type("Sparse", (), {"attrs": {"Id": container.id, "Labels": labels}})())
            else:
                found.append(container)
        return found

    def create(self, **kwargs):
        self.created.append(kwargs)
        made = FakeContainer(attrs("x", kwargs["name"], {}))
        made.name = kwargs["name"]
        made.exit_code = self.client.exit_code
        self.client.made.append(made)
        return made


class FakeImages:
    def __init__(self, images: dict[str, dict]):
        self.images = images

    def get(self, ident):
        if ident not in self.images:
            raise LookupError(ident)
        return type("Image", (), {"attrs": self.images[ident]})()


class FakeNetworks:
    def __init__(self, networks: list[FakeNetwork]):
        self.networks = {n.name: n for n in networks}

    def list(self, filters=None):
        return list(self.networks.values())

    def get(self, name):
        return self.networks[name]


class FakeAPI:
    def __init__(self, client: FakeClient):
        self.client = client

    def attach(self, ident, **kwargs):
        return iter(self.client.output)

    def exec_create(self, ident, command, **kwargs):
        self.client.execs.append((ident, command, kwargs))
        return {"Id": "exec1"}

    def exec_start(self, exec_id, **kwargs):
        if not kwargs.get("stream"):
            return self.client.exec_output
        return iter(self.client.output)

    def exec_inspect(self, exec_id):
        return {"ExitCode": self.client.exit_code}


class FakeClient:
    """`rounds`: what containers.list() answers, one list per call (the last one sticks)."""

    def __init__(self, *rounds: list[FakeContainer], images: dict | None = None,
                 networks: list[FakeNetwork] | None = None):
        self.rounds = list(rounds)
        self.containers = FakeContainers(self)
        self.images = FakeImages(images or {})
        self.networks = FakeNetworks(networks or [])
        self.api = FakeAPI(self)
        self.output: list[tuple[bytes | None, bytes | None]] = []
        self.exit_code = 0
        self.made: list[FakeContainer] = []
        self.execs: list = []
        self.exec_output = b""  # what a command run without streaming prints

    def current(self) -> list[FakeContainer]:
        return self.rounds.pop(0) if len(self.rounds) > 1 else self.rounds[0]


def stack_network(stack: str, role: str) -> FakeNetwork:
    return FakeNetwork(f"{stack}-{role}", {"Labels": {LABEL_STACK: stack, LABEL_NETWORK: role}})
