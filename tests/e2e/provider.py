"""A provider test double: the Pulumi program's registrations, created on a real Docker engine.

`EngineMocks` is a `pulumi.runtime.Mocks` whose `new_resource` does what pulumi-docker's create
does for each resource type the program uses, through the docker CLI, and answers with the real
ids and outputs. It runs the same program `pulumi up` runs (flashdrive.program.build_stack), under
the same recording monitor as `flashdrive plan`.

Limits — it is test code, not a provider:
- create only: no read, diff, update, replace or delete; `teardown` removes what it created.
- no preview pass: every value is known, as during a real `up`.
- docker:index/image:Image builds with the docker CLI and BuildKit, never pushes, and answers the
  image id as `repoDigest` (local images have no registry digest).
- docker:index/remoteImage:RemoteImage never pulls (no registry here): the image must exist.
- Container: the inputs the program sets (name, hostname, image, command, envs, labels,
  networksAdvanced with aliases, ports, volumes, uploads, healthcheck, memory, memorySwap, cpus,
  ulimits, capabilities, securityOpts, privileged, init, restart, logDriver/logOpts, attach, logs,
  mustRun, wait/waitTimeout). An input it does not know fails the create, so a new program input
  cannot be silently ignored here.
- random:index/randomPassword:RandomPassword: an alphanumeric value (special=False only), kept by
  URN across deploys in `randoms` as Pulumi's state would keep it.
"""

from __future__ import annotations

import json
import secrets
import string
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from flashdrive.plan.capture import PlanMocks

CONTAINER_INPUTS = {
    "name", "hostname", "image", "command", "envs", "labels", "networksAdvanced", "ports", "volumes",
    "uploads", "healthcheck", "memory", "memorySwap", "cpus", "ulimits", "capabilities", "securityOpts",
    "privileged", "init", "restart", "logDriver", "logOpts", "attach", "logs", "mustRun", "wait",
    "waitTimeout", "entrypoints", "networkMode",
}


class CreateFailed(Exception):
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


class EngineMocks(PlanMocks):
    def __init__(self, randoms: dict[str, str] | None = None) -> None:
        super().__init__()
        # Random values by URN, kept across deploys as Pulumi's state keeps them: a database
        # volume initialised with a password must meet the same password when redeployed.
        self.randoms = randoms if randoms is not None else {}
        self.lock = threading.Lock()
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.volumes: list[str] = []
        self.images: list[str] = []
        self.build_seconds: dict[str, float] = {}

    # -- the provider's create, per type -------------------------------------------------------
    def new_resource(self, args) -> tuple[str, dict]:
        typ, inputs = args.typ, unwrap_secrets(dict(args.inputs))
        if not args.custom:  # component resources exist only in the program
            return "", {}
        if typ == "random:index/randomPassword:RandomPassword":
            assert inputs.get("special") is False, "the double generates alphanumeric passwords only"
            alphabet = string.ascii_letters + string.digits
            urn = self._context()[0]
            with self.lock:
                value = self.randoms.setdefault(
                    urn, "".join(secrets.choice(alphabet) for _ in range(whole(inputs["length"]))))
            return f"{args.name}-id", {**inputs, "result": value}
        if typ == "docker:index/network:Network":
            return self._network(inputs)
        if typ == "docker:index/volume:Volume":
            return self._volume(inputs)
        if typ == "docker:index/image:Image":
            return self._image(inputs)
        if typ == "docker:index/remoteImage:RemoteImage":
            return self._remote_image(inputs)
        if typ == "docker:index/container:Container":
            return self._container(inputs)
        raise CreateFailed(f"the engine double cannot create {typ}")

    def _network(self, inputs: dict) -> tuple[str, dict]:
        cmd = ["network", "create", "--driver", inputs.get("driver", "bridge")]
        if inputs.get("internal"):
            cmd.append("--internal")
        for label in inputs.get("labels", []):
            cmd += ["--label", f"{label['label']}={label['value']}"]
        network_id = docker(*cmd, inputs["name"]).stdout.strip()
        with self.lock:
            self.networks.append(inputs["name"])
        return network_id, {**inputs, "id": network_id}

    def _volume(self, inputs: dict) -> tuple[str, dict]:
        cmd = ["volume", "create", "--driver", inputs.get("driver", "local")]
        for label in inputs.get("labels", []):
            cmd += ["--label", f"{label['label']}={label['value']}"]
        name = docker(*cmd, inputs["name"]).stdout.strip()
        with self.lock:
            self.volumes.append(name)
        return name, {**inputs, "mountpoint": ""}

    def _image(self, inputs: dict) -> tuple[str, dict]:
        build = inputs["build"]
        cmd = ["build", "--file", build["dockerfile"], "--tag", inputs["imageName"]]
        for key, value in sorted((build.get("args") or {}).items()):
            cmd += ["--build-arg", f"{key}={value}"]
        started = time.perf_counter()
        # Debian's docker.io CLI has BuildKit built in; a newer standalone CLI needs buildx.
        client = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
        result = subprocess.run([client, *cmd, build["context"]], capture_output=True, text=True, timeout=1800,
                                env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/local/bin:/usr/bin:/bin"})
        if result.returncode != 0:
            raise CreateFailed(f"image build failed:\n{(result.stderr + result.stdout)[-4000:]}")
        self.build_seconds[inputs["imageName"]] = time.perf_counter() - started
        image_id = docker("image", "inspect", "--format", "{{.Id}}", inputs["imageName"]).stdout.strip()
        with self.lock:
            self.images.append(inputs["imageName"])
        return image_id, {**inputs, "repoDigest": image_id, "baseImageName": inputs["imageName"],
                          "context": build["context"], "dockerfile": build["dockerfile"], "platform": "",
                          "registryServer": ""}

    def _remote_image(self, inputs: dict) -> tuple[str, dict]:
        found = docker("image", "inspect", "--format", "{{.Id}}", inputs["name"], check=False)
        if found.returncode != 0:
            raise CreateFailed(f"image {inputs['name']} is not on this engine and nothing can be pulled here; "
                               "point the spec's `images:` at the local stand-ins")
        image_id = found.stdout.strip()
        return f"{image_id}{inputs['name']}", {**inputs, "imageId": image_id, "repoDigest": image_id}

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
            cmd += ["--publish", f"{whole(port['external'])}:{whole(port['internal'])}/{port.get('protocol', 'tcp')}"]
        for volume in inputs.get("volumes", []):
            mode = ":ro" if volume.get("readOnly") else ""
            cmd += ["--volume", f"{volume['volumeName']}:{volume['containerPath']}{mode}"]
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
        if inputs.get("restart"):
            cmd += ["--restart", inputs["restart"]]
        if inputs.get("logDriver"):
            cmd += ["--log-driver", inputs["logDriver"]]
        for key, value in sorted((inputs.get("logOpts") or {}).items()):
            cmd += ["--log-opt", f"{key}={value}"]
        cmd.append(inputs["image"])
        cmd += entrypoint[1:] + list(inputs.get("command") or [])
        container_id = docker(*cmd).stdout.strip()
        with self.lock:
            self.containers.append(name)
        for network in networks[1:]:
            connect = ["network", "connect"]
            for alias in network.get("aliases", []):
                connect += ["--alias", alias]
            docker(*connect, network["name"], name)
        for upload in inputs.get("uploads", []):
            self._upload(name, upload)
        state = {**inputs, "id": container_id}
        if inputs.get("attach"):
            # Run to completion, keep the output: what the provider does with attach + logs.
            run = docker("start", "--attach", name, check=False, timeout=900)
            exit_code = int(docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip())
            logs = docker("logs", name, check=False)
            state.update(exitCode=exit_code, containerLogs=(logs.stdout + logs.stderr) or run.stdout + run.stderr)
            return container_id, state
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
            time.sleep(1)
        logs = docker("logs", "--tail", "50", name, check=False)
        raise CreateFailed(f"container {name} did not become healthy in {timeout}s (last: {status or 'no status'}):\n"
                           f"{(logs.stdout + logs.stderr)[-3000:]}")

    # -- cleanup ---------------------------------------------------------------------------------
    def teardown(self) -> None:
        """Remove containers and networks created; volumes stay (data is sacred)."""
        for name in reversed(self.containers):
            docker("rm", "--force", "--volumes", name, check=False)  # anonymous volumes only; named ones stay
        for name in reversed(self.networks):
            docker("network", "rm", name, check=False)


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
