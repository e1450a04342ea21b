"""An engine stand-in: the Pulumi program's registrations, deployed and updated on a real Docker engine.

`EngineMocks` is a `pulumi.runtime.Mocks` with a state per stack. It runs the same program
`pulumi up` runs (flashdrive.program.build_stack), under the same recording monitor as
`flashdrive plan`, and for each registration does what the Pulumi engine and the provider would:

- a URN not in the state is created (pulumi-docker's create, through the docker CLI);
- the same inputs (as the provider reads them back) are `same`: the stored id and outputs are
  answered, nothing on the engine is touched;
- changed inputs replace the resource when one of them forces a new resource, by the project's
  own table (`flashdrive.diff.replacement.replacing_inputs`, so the diff and this double cannot
  disagree), else they update it in place (`docker update` for what the provider updates: restart,
  memory, memory swap, cpu shares; lifecycle inputs such as `wait` or `healthcheck` only change the
  state, as in the provider, whose Update ignores them);
- a replacement is delete-before-replace when the resource asks for it or its provider forces it
  (pulumi-docker's `docker_container` has `DeleteBeforeReplace: true`, provider/resources.go).
  Before such a delete, the resources whose replacement-forcing inputs depend on it (property
  dependencies) are replaced too, and deleted first, dependents before dependencies: the engine's
  `calculateDependentReplacements` (pkg/resource/deploy/step_generator.go). Otherwise the new
  resource is created first and the old one deleted at the end of the run;
- at the end of a successful run, what the program no longer registers and what was replaced
  create-before-delete is deleted, dependents first (reverse dependency order); `retain_on_delete`
  resources leave the state and stay on the engine; a `protect`ed one stops the run with the
  engine's message. A failed run deletes nothing and keeps the state of what it did.

The state (URN → type, inputs as read back, options, id, outputs, dependencies) is a JSON file
under the stack's work folder, written after every step (mode 0600: it holds secrets in plain
text, as a local Pulumi backend would without a passphrase).

Provider behaviour followed (pulumi-docker 5.x, kreuzwerker/terraform-provider-docker v3):
- read-back: `cpus` as `nanoInt64ToDecimalString` writes it ("1" → "1.0", "10" → "10.",
  "0.25" → "0.25"), health-check durations as Go's `Duration.String()` ("60s" → "1m0s"); `envs`,
  `labels`, `volumes` and `ulimits` are sets (their order is not a change);
- delete: `docker stop` with `destroyGraceSeconds` as the timeout (0 when unset: a kill), except
  for `attach` containers, then a forced remove with anonymous volumes;
- `attach` (one-off) containers run to completion; their `exitCode` and `containerLogs` are stored,
  a non-zero exit is not an error (the provider does not fail on it);
- `wait` waits for `healthy` up to `waitTimeout` (default 60 s) and fails the create otherwise, with
  the health check's last output; `mustRun` fails a create whose container is not running;
- `docker:index/image:Image` (pulumi-docker's native resource) compares its inputs including
  `build.contextDigest`, which its Check adds (provider/provider.go): a code change rebuilds, the
  same sources do not. It answers the image id as `repoDigest` (local images have no registry
  digest; pulumi-docker fills it likewise for unpushed builds since 4.4).
- `docker:index/remoteImage:RemoteImage` never pulls (no registry here): the image must exist.
- `random:index/randomPassword:RandomPassword`: alphanumeric (special=False only), kept in state.
- `command:local:Command` (pulumi-command): `create` runs with `/bin/sh -c` and the `environment`
  on the host; a non-zero exit fails the resource, which is then not stored, so the next run
  creates it again; `triggers` and any input change replace it; `delete` runs on delete.

Limits — it is test code, not the engine:
- no preview pass, no refresh: every value is known, as during a real `up`, and the state is
  trusted (a container removed by hand is not noticed until something touches it);
- published ports are bound to the stack's own loopback address (`publish_address`, by default
  127.0.0.1) instead of every address, so stacks deployed side by side do not fight over 80/443;
  a port's explicit `ip` (flashdrive:publishAddress) is honoured when it is a loopback address,
  and refused otherwise (nothing here listens beyond 127.0.0.0/8);
- an input it does not implement fails the create, so a new program input cannot be ignored here;
- resources run one at a time where the engine runs independent steps in parallel.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import string
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from tls_double import TYPES as TLS_TYPES
from tls_double import create_tls

from flashdrive.diff.replacement import replacing_inputs
from flashdrive.plan.capture import PlanMocks

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/image:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
LOCAL_COMMAND = "command:local:Command"

# Providers whose resources are always replaced delete-before-replace (tfbridge ResourceInfo).
ALWAYS_DELETE_BEFORE_REPLACE = {CONTAINER}

CONTAINER_INPUTS = {
    "name", "hostname", "image", "command", "envs", "labels", "networksAdvanced", "ports", "volumes",
    "uploads", "healthcheck", "memory", "memorySwap", "cpus", "ulimits", "capabilities", "securityOpts",
    "privileged", "init", "restart", "logDriver", "logOpts", "attach", "logs", "mustRun", "wait",
    "waitTimeout", "entrypoints", "networkMode", "destroyGraceSeconds", "stopTimeout", "stopSignal",
    "readOnly", "tmpfs", "user", "workingDir", "shmSize", "platform", "rm", "start",
}
# What the provider's Update sends to `docker update` (resourceDockerContainerUpdate's attrs).
DOCKER_UPDATE_FLAGS = {"restart": "--restart", "memory": "--memory", "memorySwap": "--memory-swap",
                       "memoryReservation": "--memory-reservation", "cpuShares": "--cpu-shares",
                       "cpuSet": "--cpuset-cpus"}
# Inputs the provider's schema declares as sets: their order is never a change.
SET_INPUTS = {CONTAINER: {"envs", "labels", "volumes", "ulimits", "uploads", "securityOpts"},
              NETWORK: {"labels"}, VOLUME: {"labels"}}


class CreateFailed(Exception):
    pass


class ProtectedResource(Exception):
    pass


SECRET_SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


def unwrap_secrets(value):
    """Secrets reach mocks wrapped in Pulumi's secret signature; the engine gets the plain value."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return unwrap_secrets(value.get("value"))
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def whole(value) -> int:
    """Numbers arrive as floats through the protobuf Struct; docker wants whole numbers."""
    return int(float(value))


def docker(*args: str, timeout: float = 600, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise CreateFailed(f"docker {' '.join(args[:3])} ... failed ({result.returncode}): "
                           f"{(result.stderr or result.stdout).strip()[-3000:]}")
    return result


# --- the provider's read-back -------------------------------------------------------------------

def decimal_cpus(value: str) -> str:
    """terraform-provider-docker's nanoInt64ToDecimalString(NanoCPUs), quirks included."""
    nanos = round(Fraction(str(value)) * 10**9)
    if nanos == 0:
        return "0"
    rational = Fraction(nanos, 10**9)
    text = _float_string(rational, 9)
    if text.count("0") == 9:  # the provider's test for a "round" value counts every zero
        return _float_string(rational, 1)
    return text.rstrip("0")


def _float_string(value: Fraction, places: int) -> str:
    """Go's big.Rat.FloatString: rounded half away from zero to `places` decimals."""
    scaled = value * 10**places
    whole_part = int(abs(scaled) + Fraction(1, 2))
    sign = "-" if value < 0 else ""
    digits = str(whole_part).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


def go_duration(text: str) -> str:
    """A Docker duration as the provider reads it back: Go's time.Duration.String()."""
    units = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
    total, number, i = Fraction(0), "", 0
    text = str(text).strip()
    while i < len(text):
        if text[i].isdigit() or text[i] == ".":
            number += text[i]
            i += 1
            continue
        unit = next((u for u in ("ns", "us", "µs", "ms", "h", "m", "s") if text.startswith(u, i)), None)
        if unit is None or not number:
            return text  # not a duration: compared as written
        total += Fraction(number) * units[unit]
        number, i = "", i + len(unit)
    if number:
        return text
    nanos = int(total)
    if nanos == 0:
        return "0s"
    if nanos < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if nanos >= size:
                return _trim(Fraction(nanos, size)) + unit
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = _trim(Fraction(rest, 10**9)) + "s"
    if hours:
        return f"{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{minutes}m{seconds}"
    return seconds


def _trim(value: Fraction) -> str:
    text = f"{float(value):.9f}".rstrip("0").rstrip(".")
    return text or "0"


def read_back(type_token: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs as the provider stores them after a create: what the next diff compares with."""
    inputs = json.loads(json.dumps(inputs))  # a deep copy
    if type_token == CONTAINER:
        if inputs.get("cpus") not in (None, ""):
            inputs["cpus"] = decimal_cpus(inputs["cpus"])
        health = inputs.get("healthcheck")
        if isinstance(health, dict):
            for key in ("interval", "timeout", "startPeriod", "startInterval"):
                if health.get(key):
                    health[key] = go_duration(health[key])
        for key in ("memory", "memorySwap", "waitTimeout", "destroyGraceSeconds", "stopTimeout"):
            if isinstance(inputs.get(key), float):
                inputs[key] = int(inputs[key])
    return inputs


def _canonical(type_token: str, key: str, value: Any) -> Any:
    if key in SET_INPUTS.get(type_token, ()) and isinstance(value, list):
        return sorted(json.dumps(v, sort_keys=True) for v in value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (dict, list)):
        return json.loads(json.dumps(value, sort_keys=True), parse_float=lambda f: float(f))
    return value


def changed_inputs(type_token: str, stored: dict[str, Any], new: dict[str, Any],
                   ignore_changes: Iterable[str] = ()) -> list[str]:
    """Top-level inputs whose value differs between the state and the program, as the provider's
    diff sees them (sets unordered, numbers by value); `ignore_changes` left out."""
    ignored = set(ignore_changes)
    keys = (set(stored) | set(new)) - ignored
    return sorted(k for k in keys
                  if _canonical(type_token, k, stored.get(k)) != _canonical(type_token, k, new.get(k)))


# --- the state ------------------------------------------------------------------------------------

@dataclass
class StateEntry:
    urn: str
    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(vars(self))


class StackState:
    """The engine's checkpoint for one stack: a JSON file, written after every step."""

    def __init__(self, path: Path):
        self.path = path
        self.resources: dict[str, StateEntry] = {}
        if path.is_file():
            data = json.loads(path.read_text())
            self.resources = {urn: StateEntry(**entry) for urn, entry in data.get("resources", {}).items()}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"version": 1, "resources": {u: e.to_dict() for u, e in self.resources.items()}},
                      handle, indent=1, sort_keys=True)
        os.replace(temporary, self.path)


def dependents_to_replace(resources: dict[str, StateEntry], root: str) -> list[str]:
    """The engine's calculateDependentReplacements: resources whose replacement-forcing inputs
    depend (property dependencies) on `root` or on another resource so found, in dependency
    order (a resource after what it depends on)."""
    replace = {root}
    found: list[str] = []
    changed = True
    while changed:
        changed = False
        for urn, entry in resources.items():
            if urn in replace:
                continue
            touched = [key for key, deps in entry.property_dependencies.items() if replace & set(deps)]
            if touched and replacing_inputs(entry.type, touched):
                replace.add(urn)
                found.append(urn)
                changed = True
    return dependency_order(resources, found)


def dependency_order(resources: dict[str, StateEntry], urns: Iterable[str]) -> list[str]:
    """`urns` sorted so that each comes after everything it depends on (among them)."""
    wanted = list(dict.fromkeys(urns))
    chosen = set(wanted)
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(urn: str, stack: tuple = ()) -> None:
        if urn in seen or urn in stack:
            return
        entry = resources.get(urn)
        for dep in (entry.dependencies if entry else []):
            if dep in chosen:
                visit(dep, stack + (urn,))
        seen.add(urn)
        ordered.append(urn)

    for urn in wanted:
        visit(urn)
    return ordered


@dataclass
class Changes:
    create: int = 0
    update: int = 0
    replace: int = 0
    delete: int = 0
    same: int = 0
    steps: list[tuple[str, str]] = field(default_factory=list)  # (operation, urn)

    def count(self, operation: str, urn: str) -> None:
        setattr(self, operation, getattr(self, operation) + 1)
        self.steps.append((operation, urn))

    def summary(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("create", "update", "replace", "delete", "same")}


# --- the double -----------------------------------------------------------------------------------

class EngineMocks(PlanMocks):
    def __init__(self, state_path: Path | None = None, *, publish_address: str = "127.0.0.1") -> None:
        super().__init__()
        if state_path is None:
            state_path = Path(tempfile.mkdtemp(prefix="flashdrive-e2e-state-")) / "state.json"
        self.state = StackState(state_path)
        self.publish_address = publish_address
        self.lock = threading.RLock()
        self.registered: set[str] = set()
        self.pending_deletes: list[StateEntry] = []  # replaced create-before-delete
        self.replaced: set[str] = set()  # deleted as dependents of a replacement, to be created again
        self.changes = Changes()
        self.build_seconds: dict[str, float] = {}

    # -- one registration ------------------------------------------------------------------------
    def new_resource(self, args) -> tuple[str, dict]:
        if not args.custom:  # component resources exist only in the program
            return "", {}
        if args.typ.startswith("pulumi:providers:"):
            # An explicit provider: its inputs (the Docker host) are this process's own engine.
            with self.lock:
                self.registered.add(self._current.resource.urn)
            return f"{args.name}-provider", dict(args.inputs)
        resource = self._current.resource
        urn = resource.urn
        inputs = unwrap_secrets(dict(args.inputs))
        if args.typ == IMAGE and isinstance(resource.inputs.get("build"), dict):
            # What pulumi-docker's Check adds (the plan recorded it): the build context's digest.
            inputs["build"] = {**inputs.get("build", {}), "contextDigest": resource.inputs["build"].get("contextDigest")}
        entry = StateEntry(urn=urn, type=args.typ, name=args.name, id="", inputs=read_back(args.typ, inputs),
                           outputs={}, protect=resource.protect, retain_on_delete=resource.retain_on_delete,
                           delete_before_replace=resource.delete_before_replace,
                           dependencies=list(resource.depends_on),
                           property_dependencies={k: list(v) for k, v in resource.property_dependencies.items()})
        with self.lock:
            self.registered.add(urn)
            old = self.state.resources.get(urn)
        if old is not None and old.type == args.typ:
            changed = changed_inputs(args.typ, old.inputs, entry.inputs, resource.ignore_changes)
            if not changed:
                with self.lock:
                    old.dependencies, old.property_dependencies = entry.dependencies, entry.property_dependencies
                    old.protect, old.retain_on_delete = entry.protect, entry.retain_on_delete
                    old.delete_before_replace = entry.delete_before_replace
                    self.state.save()
                    self.changes.count("same", urn)
                return old.id, old.outputs
            forcing = replacing_inputs(args.typ, changed, resource.replace_on_changes, old.inputs, entry.inputs)
            if not forcing:
                return self._update(old, entry, inputs, changed)
            return self._replace(old, entry, inputs)
        if old is not None:  # the type changed under the same URN: the engine replaces it
            return self._replace(old, entry, inputs)
        return self._create(entry, inputs, operation="replace" if urn in self.replaced else "create")

    def _create(self, entry: StateEntry, inputs: dict, *, operation: str) -> tuple[str, dict]:
        resource_id, outputs = self._provider_create(entry.type, inputs)
        entry.id, entry.outputs = resource_id, outputs
        with self.lock:
            self.state.resources[entry.urn] = entry
            self.state.save()
            self.changes.count(operation, entry.urn)
        return resource_id, outputs

    def _update(self, old: StateEntry, entry: StateEntry, inputs: dict, changed: list[str]) -> tuple[str, dict]:
        if entry.type == IMAGE:
            resource_id, outputs = self._provider_create(entry.type, inputs)  # a rebuild
        else:
            if entry.type == CONTAINER:
                flags = [arg for key in changed if key in DOCKER_UPDATE_FLAGS and inputs.get(key) is not None
                         for arg in (DOCKER_UPDATE_FLAGS[key], self._update_value(key, inputs[key]))]
                if flags:
                    docker("update", *flags, old.id)
            resource_id, outputs = old.id, {**old.outputs, **inputs}
        entry.id, entry.outputs = resource_id, outputs
        with self.lock:
            self.state.resources[entry.urn] = entry
            self.state.save()
            self.changes.count("update", entry.urn)
        return resource_id, outputs

    @staticmethod
    def _update_value(key: str, value) -> str:
        if key in ("memory", "memorySwap", "memoryReservation"):
            return f"{whole(value)}m"
        return str(value) if key in ("restart", "cpuSet") else str(whole(value))

    def _replace(self, old: StateEntry, entry: StateEntry, inputs: dict) -> tuple[str, dict]:
        if old.protect:
            raise ProtectedResource(
                f'unable to replace resource "{old.urn}"\nas it is currently marked for protection. To unprotect '
                "the resource, remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`")
        if old.delete_before_replace or entry.delete_before_replace or entry.type in ALWAYS_DELETE_BEFORE_REPLACE:
            with self.lock:
                dependents = dependents_to_replace(self.state.resources, old.urn)
                self.replaced.update(dependents)
                for urn in reversed(dependents):  # dependents first
                    self._delete(self.state.resources[urn], replaced=True)
                self._delete(old, replaced=True)
        else:
            with self.lock:
                self.pending_deletes.append(old)
                del self.state.resources[old.urn]
                self.state.save()
        return self._create(entry, inputs, operation="replace")

    # -- deletes ---------------------------------------------------------------------------------
    def _delete(self, entry: StateEntry, *, replaced: bool = False) -> None:
        """Delete on the engine (or only forget, for retained resources) and drop from the state."""
        if not entry.retain_on_delete:
            self._provider_delete(entry)
        self.state.resources.pop(entry.urn, None)
        self.state.save()
        if not replaced:
            self.changes.count("delete", entry.urn)

    def finish(self) -> Changes:
        """The end of a successful run: delete what the program no longer has, dependents first."""
        with self.lock:
            gone = [urn for urn in self.state.resources if urn not in self.registered]
            for urn in gone:
                if self.state.resources[urn].protect:
                    raise ProtectedResource(
                        f'resource "{urn}" cannot be deleted\nbecause it is protected. To unprotect the resource, '
                        "either remove the `protect` flag from the resource in your Pulumi program and run "
                        f"`pulumi up`, or use the command:\n`pulumi state unprotect '{urn}'`")
            everything = {**{e.urn + "#old": e for e in self.pending_deletes}, **self.state.resources}
            order = dependency_order(everything, [u for u in everything if u.endswith("#old") or u in gone])
            for key in reversed(order):
                entry = everything[key]
                if key.endswith("#old"):
                    if not entry.retain_on_delete:
                        self._provider_delete(entry)
                else:
                    self._delete(entry)
            self.pending_deletes.clear()
            self.state.save()
        return self.changes

    def destroy(self) -> Changes:
        """`pulumi destroy`: every resource deleted, dependents first; retained ones forgotten."""
        with self.lock:
            self.registered = set()
        return self.finish()

    def _provider_delete(self, entry: StateEntry) -> None:
        if entry.type == CONTAINER:
            if not entry.inputs.get("attach"):
                grace = whole(entry.inputs.get("destroyGraceSeconds") or 0)
                docker("stop", "--time", str(grace), entry.id, check=False, timeout=grace + 120)
            docker("rm", "--force", "--volumes", entry.id, check=False)
        elif entry.type == NETWORK:
            docker("network", "rm", entry.id, check=False)
        elif entry.type == VOLUME:
            docker("volume", "rm", "--force", entry.id, check=False)
        elif entry.type == IMAGE:
            pass  # pulumi-docker's Image delete leaves the local image (it removes nothing it pushed)
        elif entry.type == LOCAL_COMMAND and entry.inputs.get("delete"):
            self._run_command(entry.inputs["delete"], entry.inputs, check=False)

    # -- the provider's create, per type ---------------------------------------------------------
    def _provider_create(self, typ: str, inputs: dict) -> tuple[str, dict]:
        if typ == RANDOM_PASSWORD:
            assert inputs.get("special") is False, "the double generates alphanumeric passwords only"
            alphabet = string.ascii_letters + string.digits
            value = "".join(secrets.choice(alphabet) for _ in range(whole(inputs["length"])))
            return secrets.token_hex(8), {**inputs, "result": value}
        if typ == NETWORK:
            return self._network(inputs)
        if typ == VOLUME:
            return self._volume(inputs)
        if typ == IMAGE:
            return self._image(inputs)
        if typ == REMOTE_IMAGE:
            return self._remote_image(inputs)
        if typ == CONTAINER:
            return self._container(inputs)
        if typ == LOCAL_COMMAND:
            return self._command(inputs)
        if typ in TLS_TYPES:  # keys and certificates live in the state only, as pulumi-tls keeps them
            return create_tls(typ, inputs)
        raise CreateFailed(f"the engine double cannot create {typ}")

    def _network(self, inputs: dict) -> tuple[str, dict]:
        cmd = ["network", "create", "--driver", inputs.get("driver", "bridge")]
        if inputs.get("internal"):
            cmd.append("--internal")
        for label in inputs.get("labels", []):
            cmd += ["--label", f"{label['label']}={label['value']}"]
        network_id = docker(*cmd, inputs["name"]).stdout.strip()
        return network_id, {**inputs, "id": network_id}

    def _volume(self, inputs: dict) -> tuple[str, dict]:
        cmd = ["volume", "create", "--driver", inputs.get("driver", "local")]
        for label in inputs.get("labels", []):
            cmd += ["--label", f"{label['label']}={label['value']}"]
        name = docker(*cmd, inputs["name"]).stdout.strip()
        return name, {**inputs, "mountpoint": ""}

    def _image(self, inputs: dict) -> tuple[str, dict]:
        build = inputs["build"]
        cmd = ["build", "--file", build["dockerfile"], "--tag", inputs["imageName"]]
        for key, value in sorted((build.get("args") or {}).items()):
            cmd += ["--build-arg", f"{key}={value}"]
        if build.get("platform"):
            cmd += ["--platform", build["platform"]]
        started = time.perf_counter()
        # Debian's docker.io CLI has BuildKit built in; a newer standalone CLI needs buildx.
        client = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
        result = subprocess.run([client, *cmd, build["context"]], capture_output=True, text=True, timeout=1800,
                                env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/local/bin:/usr/bin:/bin",
                                     **({"DOCKER_HOST": os.environ["DOCKER_HOST"]} if "DOCKER_HOST" in os.environ else {})})
        if result.returncode != 0:
            raise CreateFailed(f"image build failed:\n{(result.stderr + result.stdout)[-4000:]}")
        self.build_seconds[inputs["imageName"]] = time.perf_counter() - started
        image_id = docker("image", "inspect", "--format", "{{.Id}}", inputs["imageName"]).stdout.strip()
        return image_id, {**inputs, "repoDigest": image_id, "baseImageName": inputs["imageName"],
                          "context": build["context"], "dockerfile": build["dockerfile"],
                          "platform": build.get("platform", ""), "registryServer": ""}

    def _remote_image(self, inputs: dict) -> tuple[str, dict]:
        found = docker("image", "inspect", "--format", "{{.Id}}", inputs["name"], check=False)
        if found.returncode != 0:
            raise CreateFailed(f"image {inputs['name']} is not on this engine and nothing can be pulled here; "
                               "point the spec's `images:` at the local stand-ins")
        image_id = found.stdout.strip()
        return f"{image_id}{inputs['name']}", {**inputs, "imageId": image_id, "repoDigest": image_id}

    def _command(self, inputs: dict) -> tuple[str, dict]:
        result = self._run_command(inputs.get("create") or "", inputs, check=True)
        return secrets.token_hex(8), {**inputs, "stdout": result.stdout.rstrip("\n"), "stderr": result.stderr.rstrip("\n")}

    def _run_command(self, script: str, inputs: dict, *, check: bool) -> subprocess.CompletedProcess:
        env = {**os.environ, **{k: str(v) for k, v in (inputs.get("environment") or {}).items()}}
        result = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, env=env,
                                cwd=inputs.get("dir") or None, timeout=3600, input=inputs.get("stdin"))
        if check and result.returncode != 0:
            raise CreateFailed(f"command failed (exit {result.returncode}):\n{(result.stdout + result.stderr)[-4000:]}")
        return result

    def _container(self, inputs: dict) -> tuple[str, dict]:
        unknown = set(inputs) - CONTAINER_INPUTS
        if unknown:
            raise CreateFailed(f"the engine double does not implement container inputs {sorted(unknown)}")
        name = inputs["name"]
        cmd = ["create", "--name", name]
        if inputs.get("hostname"):
            cmd += ["--hostname", inputs["hostname"]]
        for env in inputs.get("envs", []):
            cmd += ["--env", env]
        for label in inputs.get("labels", []):
            cmd += ["--label", f"{label['label']}={label['value']}"]
        networks = inputs.get("networksAdvanced", [])
        if inputs.get("networkMode"):
            cmd += ["--network", inputs["networkMode"]]
        entrypoint = list(inputs.get("entrypoints") or [])
        if entrypoint:
            cmd += ["--entrypoint", entrypoint[0]]
        if networks:
            first = networks[0]
            cmd += ["--network", first["name"]]
            for alias in first.get("aliases", []):
                cmd += ["--network-alias", alias]
        for port in inputs.get("ports", []):
            address = self.publish_address if port.get("ip") in (None, "", "0.0.0.0") else port["ip"]
            if not ipaddress.ip_address(address).is_loopback:
                raise CreateFailed(f"the engine double publishes on loopback addresses only, not {address} "
                                   f"(port {whole(port['external'])} of container {name})")
            cmd += ["--publish", f"{address}:{whole(port['external'])}:{whole(port['internal'])}/{port.get('protocol', 'tcp')}"]
        for volume in inputs.get("volumes", []):
            mode = ":ro" if volume.get("readOnly") else ""
            source = volume.get("volumeName") or volume.get("hostPath")
            cmd += ["--volume", f"{source}:{volume['containerPath']}{mode}"]
        health = inputs.get("healthcheck")
        if health:
            tests = health["tests"]
            if tests[0] == "CMD-SHELL":
                cmd += ["--health-cmd", tests[1]]
            else:  # CMD form: docker CLI takes a shell string; quote each word
                cmd += ["--health-cmd", " ".join(json.dumps(t) if " " in t or "'" in t else t for t in tests[1:])]
            for key, flag in (("interval", "--health-interval"), ("timeout", "--health-timeout"),
                              ("startPeriod", "--health-start-period")):
                if health.get(key):
                    cmd += [flag, health[key]]
            if health.get("retries"):
                cmd += ["--health-retries", str(whole(health["retries"]))]
        if inputs.get("memory"):
            cmd += ["--memory", f"{whole(inputs['memory'])}m"]
        if inputs.get("memorySwap"):
            cmd += ["--memory-swap", f"{whole(inputs['memorySwap'])}m"]
        if inputs.get("cpus"):
            cmd += ["--cpus", str(inputs["cpus"])]
        for ulimit in inputs.get("ulimits", []):
            cmd += ["--ulimit", f"{ulimit['name']}={whole(ulimit['soft'])}:{whole(ulimit['hard'])}"]
        caps = inputs.get("capabilities") or {}
        for cap in caps.get("drops", []):
            cmd += ["--cap-drop", cap]
        for cap in caps.get("adds", []):
            cmd += ["--cap-add", cap]
        for opt in inputs.get("securityOpts", []):
            cmd += ["--security-opt", opt]
        if inputs.get("privileged"):
            cmd.append("--privileged")
        if inputs.get("init"):
            cmd.append("--init")
        if inputs.get("readOnly"):
            cmd.append("--read-only")
        for path, options in sorted((inputs.get("tmpfs") or {}).items()):
            cmd += ["--tmpfs", f"{path}:{options}" if options else path]
        if inputs.get("user"):
            cmd += ["--user", inputs["user"]]
        if inputs.get("workingDir"):
            cmd += ["--workdir", inputs["workingDir"]]
        if inputs.get("shmSize"):
            cmd += ["--shm-size", f"{whole(inputs['shmSize'])}m"]
        if inputs.get("stopTimeout") is not None:
            cmd += ["--stop-timeout", str(whole(inputs["stopTimeout"]))]
        if inputs.get("stopSignal"):
            cmd += ["--stop-signal", inputs["stopSignal"]]
        if inputs.get("restart"):
            cmd += ["--restart", inputs["restart"]]
        if inputs.get("logDriver"):
            cmd += ["--log-driver", inputs["logDriver"]]
        for key, value in sorted((inputs.get("logOpts") or {}).items()):
            cmd += ["--log-opt", f"{key}={value}"]
        cmd.append(inputs["image"])
        cmd += entrypoint[1:] + list(inputs.get("command") or [])
        container_id = docker(*cmd).stdout.strip()
        for network in networks[1:]:
            connect = ["network", "connect"]
            for alias in network.get("aliases", []):
                connect += ["--alias", alias]
            docker(*connect, network["name"], name)
        for upload in inputs.get("uploads", []):
            self._upload(name, upload)
        state = {**inputs, "id": container_id}
        if inputs.get("attach"):
            # Run to completion, keep the output: what the provider does with attach + logs. A
            # non-zero exit is stored, not raised.
            run = docker("start", "--attach", name, check=False, timeout=1800)
            exit_code = int(docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip())
            logs = docker("logs", name, check=False)
            state.update(exitCode=exit_code, containerLogs=(logs.stdout + logs.stderr) or run.stdout + run.stderr)
            return container_id, state
        if inputs.get("start", True):
            docker("start", name)
        if inputs.get("wait"):
            self._wait_healthy(name, whole(inputs.get("waitTimeout") or 60))
        if inputs.get("mustRun", True):
            running = docker("inspect", "--format", "{{.State.Running}}", name).stdout.strip()
            if running != "true":
                logs = docker("logs", name, check=False)
                raise CreateFailed(f"container {name} is not running after start:\n{(logs.stdout + logs.stderr)[-3000:]}")
        return container_id, state

    def _upload(self, container: str, upload: dict) -> None:
        with tempfile.TemporaryDirectory() as folder:
            target = upload["file"]
            # A tar of the file under its full path: `docker cp -` creates the missing folders.
            staging = Path(folder) / "tree"
            (staging / str(Path(target).parent).lstrip("/")).mkdir(parents=True, exist_ok=True)
            staged = staging / target.lstrip("/")
            staged.write_text(upload["content"])
            staged.chmod(0o755 if upload.get("executable") else 0o644)
            tar = subprocess.run(["tar", "-C", str(staging), "-cf", "-", "."], capture_output=True, check=True)
            result = subprocess.run(["docker", "cp", "-", f"{container}:/"], input=tar.stdout, capture_output=True)
            if result.returncode != 0:
                raise CreateFailed(f"upload of {target} into {container} failed: {result.stderr.decode()}")

    def _wait_healthy(self, name: str, timeout: int) -> None:
        deadline = time.monotonic() + timeout
        status = ""
        while time.monotonic() < deadline:
            restarts, _, status = docker("inspect", "--format", "{{.RestartCount}} {{if .State.Health}}"
                                         "{{.State.Health.Status}}{{end}}", name).stdout.strip().partition(" ")
            if status == "healthy":
                return
            if int(restarts) > 0:  # it exited: waiting longer cannot help
                break
            time.sleep(0.5)
        probes = docker("inspect", "--format", "{{if .State.Health}}{{range .State.Health.Log}}{{.Output}}{{end}}{{end}}",
                        name, check=False).stdout.strip()
        logs = docker("logs", "--tail", "50", name, check=False)
        raise CreateFailed(f"container {name} did not become healthy in {timeout}s (last: {status or 'no status'})\n"
                           f"last health check output:\n{probes[-1500:] or '(none)'}\n"
                           f"container log:\n{(logs.stdout + logs.stderr)[-3000:]}")


def teardown_stack(stack: str) -> None:
    """Remove every container and network labelled with the stack, whoever created them."""
    label = f"label=flashdrive.stack={stack}"
    containers = docker("ps", "--all", "--quiet", "--filter", label, check=False).stdout.split()
    if containers:
        docker("rm", "--force", "--volumes", *containers, check=False)  # anonymous volumes only
    networks = docker("network", "ls", "--quiet", "--filter", label, check=False).stdout.split()
    if networks:
        docker("network", "rm", *networks, check=False)


def remove_volumes(stack: str) -> None:
    listed = docker("volume", "ls", "--quiet", "--filter", f"label=flashdrive.stack={stack}", check=False).stdout.split()
    if listed:
        docker("volume", "rm", "--force", *listed, check=False)
